import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PlatformSim } from './core.ts';

// Signed webhook deliveries the way each platform sends them, with the misbehaviour real platforms
// show: duplicates, delays and reordering (all of them deliver at least once, in no promised order).

export interface WebhookRequest {
  platform: string;
  url: string;
  /** Payloads to deliver, in the order they happened. */
  events: unknown[];
  /** Extra copies of each delivery. */
  duplicate?: number;
  /** Pause before each delivery. */
  delayMs?: number;
  /** Deliver newest first. */
  reorder?: boolean;
}

const hmac = (secret: string, data: string, encoding: 'hex' | 'base64') =>
  createHmac('sha256', secret).update(data).digest(encoding);

/** Headers each platform signs a delivery with. */
export function signDelivery(sim: PlatformSim, body: string): Record<string, string> {
  const secret = sim.opts.clientSecret;
  switch (sim.id) {
    case 'instagram':
    case 'facebook':
    case 'threads':
    case 'whatsapp':
      return { 'x-hub-signature-256': `sha256=${hmac(secret, body, 'hex')}` };
    case 'tiktok': {
      const t = Math.floor(sim.clock.now() / 1000);
      return { 'tiktok-signature': `t=${t},s=${hmac(secret, `${t}.${body}`, 'hex')}` };
    }
    case 'linkedin':
      return { 'x-li-signature': `hmacsha256=${hmac(secret, body, 'hex')}` };
    case 'x':
      return { 'x-twitter-webhooks-signature': `sha256=${hmac(secret, body, 'base64')}` };
    default:
      // YouTube's WebSub hub signs with SHA-1 over the body when a hub.secret was given.
      return { 'x-hub-signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}` };
  }
}

export async function emitWebhooks(sim: PlatformSim, req: WebhookRequest) {
  const copies = 1 + Math.max(0, Number(req.duplicate ?? 0));
  const queue = req.events.flatMap((event, index) => Array.from({ length: copies }, () => ({ event, index })));
  if (req.reorder) queue.reverse();
  const deliveries: { index: number; status: number | null }[] = [];
  for (const { event, index } of queue) {
    if (req.delayMs) await sleep(req.delayMs);
    const body = JSON.stringify(event);
    let status: number | null = null;
    try {
      const res = await fetch(req.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signDelivery(sim, body) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
    } catch {
      status = null;
    }
    deliveries.push({ index, status });
  }
  return { deliveries };
}
