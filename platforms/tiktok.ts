import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): TikTok adapter.
export function createTikTokAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
