import type { AdapterConfig, PlatformAdapter } from './types.ts';

// TODO(helper): WhatsApp adapter.
export function createWhatsAppAdapter(_cfg: AdapterConfig): PlatformAdapter {
  throw new Error('not implemented');
}
