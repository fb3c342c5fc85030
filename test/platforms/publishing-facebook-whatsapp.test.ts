import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimAccount } from '../../simulators/core.ts';
import { statusWebhook, type WhatsAppStatus, whatsAppNumber } from '../../simulators/platforms/whatsapp.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin } from './contract.ts';

// Publishing against the Facebook Pages and WhatsApp Cloud API simulators, the way an adapter would
// drive them: commits recorded once, duplicate and rate guards, ambiguous commits settled by the
// platform's truth signal (published_posts), Reels phases, and signed WhatsApp status webhooks.

let sim: Simulator;
let receiver: Server;
let receiverUrl: string;
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await sim.close();
  await new Promise((r) => receiver.close(r));
});

interface GraphError {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    is_transient?: boolean;
    error_data?: { messaging_product: string; details: string };
    fbtrace_id: string;
  };
}
interface Write {
  route: string;
  accountId?: string;
  data: Record<string, unknown>;
}

async function call<T = Record<string, unknown>>(
  method: string,
  url: string,
  opts: {
    token?: string;
    form?: Record<string, string>;
    json?: unknown;
    headers?: Record<string, string>;
    bytes?: Buffer;
  } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | undefined = opts.bytes;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(url, { method, headers, body });
  return { status: res.status, body: (await res.json()) as T };
}

const writes = (platform: string, route: string) => admin<Write[]>(sim, 'GET', `/${platform}/writes?route=${route}`);
const simNowS = async () => Math.floor(Date.parse((await admin<{ now: string }>(sim, 'GET', '/clock')).now) / 1000);
const hmacHex = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');

describe('Facebook Pages publishing', () => {
  let page: SimAccount;
  let pageId: string;
  let userToken: string;
  let pageToken: string;
  const graph = (path: string) => `${sim.url}/facebook/v21.0${path}`;

  beforeEach(async () => {
    await admin(sim, 'POST', '/reset');
    [page] = (await admin<SimAccount[]>(sim, 'GET', '/facebook/accounts')) as [SimAccount];
    pageId = page.extra?.pageId as string;
    ({ accessToken: userToken } = await admin<{ accessToken: string }>(sim, 'POST', '/facebook/tokens', {
      accountId: page.id,
      scopes: ['pages_show_list', 'pages_read_engagement', 'pages_manage_posts'],
    }));
    // The Page token comes from the user's Page list, as the adapter gets it.
    const pages = await call<{ data: { id: string; access_token: string }[] }>(
      'GET',
      graph('/me/accounts?fields=id,name,access_token'),
      { token: userToken },
    );
    expect(pages.body.data[0]?.id).toBe(pageId);
    pageToken = pages.body.data[0]?.access_token as string;
    expect(pageToken).not.toBe(userToken);
  });

  const post = (form: Record<string, string>) =>
    call<{ id: string }>('POST', graph(`/${pageId}/feed`), { token: pageToken, form });
  const listed = (query: string) =>
    call<{
      data: { id: string; message?: string; created_time: string }[];
      paging?: { cursors: { before: string; after: string }; next?: string };
    }>('GET', graph(`/${pageId}/published_posts?${query}`), { token: pageToken });

  it('publishes a text post once, readable with its permalink', async () => {
    const res = await post({ message: 'Fresh sourdough at 8', link: 'https://bakery.example/sourdough' });
    expect(res.status).toBe(200);
    expect(res.body.id).toMatch(new RegExp(`^${pageId}_\\d+$`));

    const w = await writes('facebook', 'publish');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({
      accountId: page.id,
      data: {
        postId: res.body.id,
        message: 'Fresh sourdough at 8',
        link: 'https://bakery.example/sourdough',
        media: [],
      },
    });

    const read = await call<Record<string, string>>(
      'GET',
      graph(`/${res.body.id}?fields=id,message,permalink_url,created_time`),
      {
        token: pageToken,
      },
    );
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: res.body.id, message: 'Fresh sourdough at 8' });
    expect(read.body.permalink_url).toBe(`https://www.facebook.com/${pageId}/posts/${res.body.id.split('_')[1]}`);
    expect(read.body.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  });

  it('refuses user tokens, other Pages and over-long messages without writing', async () => {
    const asUser = await call<GraphError>('POST', graph(`/${pageId}/feed`), {
      token: userToken,
      form: { message: 'hi' },
    });
    expect(asUser.status).toBe(403);
    expect(asUser.body.error.code).toBe(200);

    const other = await call<GraphError>('POST', graph('/123456789012345/feed'), {
      token: pageToken,
      form: { message: 'hi' },
    });
    expect(other.body.error).toMatchObject({ code: 100, error_subcode: 33 });

    const long = await call<GraphError>('POST', graph(`/${pageId}/feed`), {
      token: pageToken,
      form: { message: 'x'.repeat(63_207) },
    });
    expect(long.body.error.code).toBe(100);
    expect((await post({ message: 'x'.repeat(63_206) })).status).toBe(200);
    expect(await writes('facebook', 'publish')).toHaveLength(1);
  });

  it('posts unpublished photos as attached_media, each photo once', async () => {
    const photo = (url: string) =>
      call<{ id: string }>('POST', graph(`/${pageId}/photos`), { token: pageToken, json: { url, published: false } });
    const [a, b] = [await photo('https://cdn.example/a.jpg'), await photo('https://cdn.example/b.jpg')];
    expect(a.body.id).toMatch(/^\d+$/);
    expect(await writes('facebook', 'publish')).toHaveLength(0);

    const res = await call<{ id: string }>('POST', graph(`/${pageId}/feed`), {
      token: pageToken,
      json: { message: 'Two loaves', attached_media: [{ media_fbid: a.body.id }, { media_fbid: b.body.id }] },
    });
    expect(res.status).toBe(200);
    const w = await writes('facebook', 'publish');
    expect(w).toHaveLength(1);
    expect(w[0]?.data).toMatchObject({ postId: res.body.id, media: [a.body.id, b.body.id] });

    // Form style, attached_media[0]: a photo already in a post is refused.
    const again = await call<GraphError>('POST', graph(`/${pageId}/feed`), {
      token: pageToken,
      form: { message: 'Again', 'attached_media[0]': JSON.stringify({ media_fbid: a.body.id }) },
    });
    expect(again.body.error).toMatchObject({ code: 100, error_subcode: 1366051 });
    const unknown = await call<GraphError>('POST', graph(`/${pageId}/feed`), {
      token: pageToken,
      json: { message: 'Ghost', attached_media: [{ media_fbid: '999' }] },
    });
    expect(unknown.body.error.code).toBe(100);

    // A published photo is a post by itself.
    const single = await call<{ id: string; post_id: string }>('POST', graph(`/${pageId}/photos`), {
      token: pageToken,
      form: { url: 'https://cdn.example/c.jpg', caption: 'Croissants', published: 'true' },
    });
    expect(single.body.post_id).toMatch(new RegExp(`^${pageId}_\\d+$`));
    expect(await writes('facebook', 'publish')).toHaveLength(2);
    const list = await listed('fields=id,message');
    expect(list.body.data.map((p) => p.message)).toEqual(['Croissants', 'Two loaves']);
  });

  it('answers 506 to a duplicate status within 24 hours, without a second write', async () => {
    expect((await post({ message: 'Closed on Monday' })).status).toBe(200);
    const dup = await post({ message: 'Closed on Monday' });
    expect(dup.status).toBe(400);
    expect((dup.body as unknown as GraphError).error).toMatchObject({
      code: 506,
      type: 'OAuthException',
      is_transient: false,
    });
    expect(await writes('facebook', 'publish')).toHaveLength(1);

    await admin(sim, 'POST', '/clock', { advanceMs: 25 * 3_600_000 });
    expect((await post({ message: 'Closed on Monday' })).status).toBe(200);
    expect(await writes('facebook', 'publish')).toHaveLength(2);
  });

  it('blocks posting too fast (368/1390008) once postsPerMinute is set', async () => {
    await admin(sim, 'PATCH', '/facebook/knobs', { postsPerMinute: 1 });
    expect((await post({ message: 'One' })).status).toBe(200);
    const blocked = await post({ message: 'Two' });
    expect((blocked.body as unknown as GraphError).error).toMatchObject({ code: 368, error_subcode: 1390008 });
    expect(await writes('facebook', 'publish')).toHaveLength(1);
    await admin(sim, 'POST', '/clock', { advanceMs: 61_000 });
    expect((await post({ message: 'Two' })).status).toBe(200);
  });

  it('lands a post whose answer is lost, which published_posts since the attempt reveals', async () => {
    expect((await post({ message: 'Yesterday’s special' })).status).toBe(200);
    await admin(sim, 'POST', '/clock', { advanceMs: 3_600_000 });
    const since = await simNowS();

    await admin(sim, 'POST', '/facebook/faults', { route: 'publish', kind: 'drop_after' });
    await expect(post({ message: 'Rye is back' })).rejects.toThrow();

    const truth = await listed(`fields=id,message,created_time&since=${since}`);
    expect(truth.status).toBe(200);
    expect(truth.body.data).toHaveLength(1);
    expect(truth.body.data[0]?.message).toBe('Rye is back');
    expect(await writes('facebook', 'publish')).toHaveLength(2);
    // Retrying blindly would have met the duplicate guard.
    expect((await post({ message: 'Rye is back' })).status).toBe(400);

    // Newest first, with cursors to walk back.
    const first = await listed('fields=id,message&limit=1');
    expect(first.body.data.map((p) => p.message)).toEqual(['Rye is back']);
    expect(first.body.paging?.next).toBeDefined();
    const second = await listed(`fields=id,message&limit=1&after=${first.body.paging?.cursors.after}`);
    expect(second.body.data.map((p) => p.message)).toEqual(['Yesterday’s special']);
    const feed = await call<{ data: { id: string }[] }>('GET', graph(`/${pageId}/feed`), { token: pageToken });
    expect(feed.body.data).toHaveLength(2);
  });

  describe('Reels', () => {
    interface ReelStatus {
      video_status: string;
      uploading_phase: { status: string; bytes_transferred: number };
      processing_phase: { status: string; errors?: { code: number; message: string }[] };
      publishing_phase: { status: string; publish_status?: string; publish_time?: number };
    }
    const reels = (query: string) =>
      call<Record<string, unknown>>('POST', graph(`/${pageId}/video_reels?${query}`), { token: pageToken });
    const status = async (videoId: string) =>
      (await call<{ id: string; status: ReelStatus }>('GET', graph(`/${videoId}?fields=status`), { token: pageToken }))
        .body;
    const start = async () => {
      const res = await call<{ video_id: string; upload_url: string }>('POST', graph(`/${pageId}/video_reels`), {
        token: pageToken,
        json: { upload_phase: 'start' },
      });
      expect(res.status).toBe(200);
      return res.body;
    };
    const upload = (uploadUrl: string, bytes: Buffer, offset: number, size: number) =>
      call<Record<string, unknown>>('POST', uploadUrl, {
        headers: { authorization: `OAuth ${pageToken}`, offset: String(offset), file_size: String(size) },
        bytes,
      });
    const finish = (videoId: string, description: string) =>
      reels(
        `upload_phase=finish&video_id=${videoId}&video_state=PUBLISHED&description=${encodeURIComponent(description)}`,
      );

    it('uploads in chunks, refuses an early finish, then processes to ready and shows the post', async () => {
      await admin(sim, 'PATCH', '/facebook/knobs', { videoPolls: 2 });
      const { video_id: videoId, upload_url: uploadUrl } = await start();
      expect(uploadUrl).toBe(`${sim.url}/facebook/video-upload/v21.0/${videoId}`);

      const video = Buffer.from('0123456789');
      expect((await upload(uploadUrl, video.subarray(0, 6), 0, 10)).body).toEqual({ success: true });
      expect((await status(videoId)).status.uploading_phase).toEqual({ status: 'in_progress', bytes_transferred: 6 });
      const early = await finish(videoId, 'Kneading, sped up');
      expect(early.status).toBe(400);
      expect((early.body as unknown as GraphError).error.code).toBe(6000);
      expect(await writes('facebook', 'publish')).toHaveLength(0);
      // A skipped range is refused; the rest completes the file.
      expect((await upload(uploadUrl, video.subarray(8), 8, 10)).status).toBe(400);
      expect((await upload(uploadUrl, video.subarray(6), 6, 10)).body).toEqual({ success: true });
      expect((await status(videoId)).status).toMatchObject({
        video_status: 'upload_complete',
        uploading_phase: { status: 'complete', bytes_transferred: 10 },
        processing_phase: { status: 'not_started' },
      });

      expect((await finish(videoId, 'Kneading, sped up')).body).toEqual({ success: true });
      const w = await writes('facebook', 'publish');
      expect(w).toHaveLength(1);
      expect(w[0]?.data).toMatchObject({ message: 'Kneading, sped up', media: [videoId] });
      expect((await finish(videoId, 'Kneading, sped up')).status).toBe(400);
      expect(await writes('facebook', 'publish')).toHaveLength(1);

      const pending = await status(videoId);
      expect(pending.id).toBe(videoId);
      expect(pending.status).toMatchObject({
        video_status: 'processing',
        processing_phase: { status: 'in_progress' },
        publishing_phase: { status: 'not_started' },
      });
      expect((await listed('fields=id,message')).body.data).toHaveLength(0);

      const ready = await status(videoId);
      expect(ready.status).toMatchObject({
        video_status: 'ready',
        processing_phase: { status: 'complete' },
        publishing_phase: { status: 'complete', publish_status: 'published' },
      });
      expect(ready.status.publishing_phase.publish_time).toBeGreaterThan(0);
      expect((await listed('fields=id,message')).body.data.map((p) => p.message)).toEqual(['Kneading, sped up']);
    });

    it('reports a processing error set through jobs/fail, and never shows the post', async () => {
      await admin(sim, 'POST', '/facebook/jobs/fail', {
        kind: 'video',
        reason: 'Video Creation failed, please try again.',
      });
      const { video_id: videoId, upload_url: uploadUrl } = await start();
      expect((await upload(uploadUrl, Buffer.from('abcd'), 0, 4)).status).toBe(200);
      expect((await finish(videoId, 'Doomed')).status).toBe(200);
      const failed = await status(videoId);
      expect(failed.status.video_status).toBe('error');
      expect(failed.status.processing_phase).toEqual({
        status: 'error',
        errors: [{ code: 6000, message: 'Video Creation failed, please try again.' }],
      });
      expect((await listed('fields=id,message')).body.data).toHaveLength(0);
    });
  });

  it('deletes a post: one delete write, then the post is gone', async () => {
    const { body } = await post({ message: 'Typo in here' });
    const del = await call('DELETE', graph(`/${body.id}`), { token: pageToken });
    expect(del.body).toEqual({ success: true });
    const w = await writes('facebook', 'delete');
    expect(w).toHaveLength(1);
    expect(w[0]?.data).toEqual({ postId: body.id });

    const gone = await call<GraphError>('GET', graph(`/${body.id}?fields=id,message`), { token: pageToken });
    expect(gone.body.error).toMatchObject({ code: 100, error_subcode: 33 });
    expect((await listed('fields=id')).body.data).toHaveLength(0);
    expect((await call<GraphError>('DELETE', graph(`/${body.id}`), { token: pageToken })).status).toBe(400);
    expect(await writes('facebook', 'delete')).toHaveLength(1);
    // A deleted post no longer blocks the same text.
    expect((await post({ message: 'Typo in here' })).status).toBe(200);
  });
});

describe('WhatsApp Cloud API sends', () => {
  let business: SimAccount;
  let phoneId: string;
  let token: string;
  const customer = '+1 555 010 9999';
  const customerWaId = '15550109999';
  const messages = () => `${sim.url}/whatsapp/v21.0/${phoneId}/messages`;
  const template = (to: string, extra: Record<string, unknown> = {}) =>
    call<{
      messaging_product: string;
      contacts: { input: string; wa_id: string }[];
      messages: { id: string; message_status?: string }[];
    }>('POST', messages(), {
      token,
      json: {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to,
        type: 'template',
        template: { name: 'order_ready', language: { code: 'en_US' } },
        ...extra,
      },
    });
  const text = (to: string) =>
    call<GraphError>('POST', messages(), {
      token,
      json: { messaging_product: 'whatsapp', to, type: 'text', text: { body: 'Your bread is ready' } },
    });

  beforeEach(async () => {
    await admin(sim, 'POST', '/reset');
    [business] = (await admin<SimAccount[]>(sim, 'GET', '/whatsapp/accounts')) as [SimAccount];
    phoneId = business.extra?.phoneNumberId as string;
    ({ accessToken: token } = await admin<{ accessToken: string }>(sim, 'POST', '/whatsapp/tokens', {
      accountId: business.id,
      scopes: ['whatsapp_business_messaging'],
    }));
  });

  it('sends a template: a wamid, the normalised recipient, and one send write', async () => {
    const res = await template(customer, { biz_opaque_callback_data: 'send-1' });
    expect(res.status).toBe(200);
    expect(res.body.messaging_product).toBe('whatsapp');
    expect(res.body.contacts).toEqual([{ input: customer, wa_id: customerWaId }]);
    const wamid = res.body.messages[0]?.id as string;
    expect(wamid).toMatch(/^wamid\.[A-Za-z0-9+/]+$/);
    expect(res.body.messages[0]?.message_status).toBe('accepted');

    const w = await writes('whatsapp', 'send');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({
      accountId: business.id,
      data: { wamid, to: customerWaId, type: 'template', biz_opaque_callback_data: 'send-1' },
    });
    expect(await writes('whatsapp', 'publish')).toHaveLength(0);

    // A number outside the token's WABA is not reachable.
    const other = await call<GraphError>('POST', `${sim.url}/whatsapp/v21.0/111111111111111/messages`, {
      token,
      json: {
        messaging_product: 'whatsapp',
        to: customer,
        type: 'template',
        template: { name: 'x', language: { code: 'en' } },
      },
    });
    expect(other.body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('refuses free-form text outside the 24-hour window (131047) until the customer writes', async () => {
    const refused = await text(customer);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 131047, error_data: { messaging_product: 'whatsapp' } });
    expect(await writes('whatsapp', 'send')).toHaveLength(0);

    const inbound = await call<{
      wamid: string;
      webhook: { entry: { changes: { value: { messages: unknown[] } }[] }[] };
    }>('POST', `${sim.url}/whatsapp/_sim/inbound`, { json: { from: customerWaId, body: 'Is my order ready?' } });
    expect(inbound.body.webhook.entry[0]?.changes[0]?.value.messages[0]).toMatchObject({
      from: customerWaId,
      type: 'text',
      text: { body: 'Is my order ready?' },
    });
    expect((await text(customer)).status).toBe(200);
    expect(await writes('whatsapp', 'send')).toHaveLength(1);

    // The window closes 24 hours after the customer's message.
    await admin(sim, 'POST', '/clock', { advanceMs: 24 * 3_600_000 + 1000 });
    expect((await text(customer)).body.error?.code).toBe(131047);
    expect(await writes('whatsapp', 'send')).toHaveLength(1);
  });

  it('limits messages to one recipient (131056) but not to others', async () => {
    await admin(sim, 'PATCH', '/whatsapp/knobs', { pairPerMinute: 2 });
    expect((await template(customer)).status).toBe(200);
    expect((await template(customer)).status).toBe(200);
    const limited = (await template(customer)) as unknown as { status: number; body: GraphError };
    expect(limited.status).toBe(400);
    expect(limited.body.error).toMatchObject({
      code: 131056,
      type: 'OAuthException',
      error_data: { messaging_product: 'whatsapp' },
    });
    expect(await writes('whatsapp', 'send')).toHaveLength(2);
    expect((await template('15550100000')).status).toBe(200);

    await admin(sim, 'POST', '/clock', { advanceMs: 61_000 });
    expect((await template(customer)).status).toBe(200);
  });

  it('emits signed status webhooks that echo biz_opaque_callback_data', async () => {
    await admin(sim, 'PATCH', '/whatsapp/knobs', { messageMs: 60_000, messageReadMs: 30_000 });
    const sent = await template(customer, { biz_opaque_callback_data: 'send-42' });
    const wamid = sent.body.messages[0]?.id as string;
    const statuses = async () =>
      (await call<{ events: unknown[] }>('GET', `${sim.url}/whatsapp/_sim/statuses?wamid=${encodeURIComponent(wamid)}`))
        .body.events;

    const pending = await statuses();
    expect(pending).toHaveLength(1);
    await admin(sim, 'POST', '/clock', { advanceMs: 90_000 });
    const events = await statuses();
    const number = whatsAppNumber(business);
    const expected: WhatsAppStatus['status'][] = ['sent', 'delivered', 'read'];
    expect(events).toHaveLength(3);
    events.forEach((event, i) => {
      expect(event).toEqual(
        statusWebhook(number, [
          {
            id: wamid,
            status: expected[i] as WhatsAppStatus['status'],
            timestamp: expect.stringMatching(/^\d+$/) as unknown as string,
            recipient_id: customerWaId,
            biz_opaque_callback_data: 'send-42',
          },
        ]),
      );
    });

    received.length = 0;
    const out = await admin<{ deliveries: { index: number; status: number }[] }>(sim, 'POST', '/webhooks', {
      platform: 'whatsapp',
      url: receiverUrl,
      events,
    });
    expect(out.deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(received).toHaveLength(3);
    for (const r of received) {
      expect(r.headers['x-hub-signature-256']).toBe(`sha256=${hmacHex('sim-whatsapp-secret', r.body)}`);
    }
    const first = JSON.parse(received[0]!.body);
    expect(first.object).toBe('whatsapp_business_account');
    expect(first.entry[0].id).toBe(business.extra?.wabaId);
    expect(first.entry[0].changes[0].field).toBe('messages');
    expect(first.entry[0].changes[0].value).toMatchObject({
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550104477', phone_number_id: phoneId },
      statuses: [{ id: wamid, status: 'sent', recipient_id: customerWaId, biz_opaque_callback_data: 'send-42' }],
    });
  });

  it('reports a failure set through jobs/fail as a failed status with its code', async () => {
    await admin(sim, 'POST', '/whatsapp/jobs/fail', { kind: 'message', reason: '131026' });
    const sent = await template(customer, { biz_opaque_callback_data: 'send-7' });
    expect(sent.status).toBe(200);
    const wamid = sent.body.messages[0]?.id as string;
    const { body } = await call<{ events: { entry: { changes: { value: { statuses: WhatsAppStatus[] } }[] }[] }[] }>(
      'GET',
      `${sim.url}/whatsapp/_sim/statuses?wamid=${encodeURIComponent(wamid)}`,
    );
    expect(body.events).toHaveLength(1);
    const [status] = body.events[0]?.entry[0]?.changes[0]?.value.statuses ?? [];
    expect(status).toMatchObject({ id: wamid, status: 'failed', biz_opaque_callback_data: 'send-7' });
    expect(status?.errors?.[0]).toMatchObject({ code: 131026, title: 'Message undeliverable' });
  });
});
