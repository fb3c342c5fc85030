import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): Threads adapter.
export function createThreadsAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
