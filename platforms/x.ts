import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): X adapter.
export function createXAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
