import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): LinkedIn adapter.
export function createLinkedInAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
