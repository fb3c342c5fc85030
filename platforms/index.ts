import { createFacebookAdapter } from './facebook.ts';
import { createInstagramAdapter } from './instagram.ts';
import { createLinkedInAdapter } from './linkedin.ts';
import { createThreadsAdapter } from './threads.ts';
import { createTikTokAdapter } from './tiktok.ts';
import type { AdapterConfig, PlatformAdapter, PlatformId } from './types.ts';
import { createWhatsAppAdapter } from './whatsapp.ts';
import { createXAdapter } from './x.ts';
import { createYouTubeAdapter } from './youtube.ts';

export * from './errors.ts';
export * from './types.ts';

const FACTORIES: Record<PlatformId, (cfg: AdapterConfig) => PlatformAdapter> = {
  youtube: createYouTubeAdapter,
  instagram: createInstagramAdapter,
  facebook: createFacebookAdapter,
  tiktok: createTikTokAdapter,
  linkedin: createLinkedInAdapter,
  x: createXAdapter,
  threads: createThreadsAdapter,
  whatsapp: createWhatsAppAdapter,
};

export type Adapters = Record<PlatformId, PlatformAdapter>;

export function createAdapters(configs: Record<PlatformId, AdapterConfig>): Adapters {
  return Object.fromEntries(
    Object.entries(FACTORIES).map(([id, make]) => [id, make(configs[id as PlatformId])]),
  ) as Adapters;
}
