import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): Facebook adapter.
export function createFacebookAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
