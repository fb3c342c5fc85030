import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): Instagram adapter.
export function createInstagramAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
