import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WriteRecord } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin } from './contract.ts';

// Instagram and Threads publish the same way (container → status polls → publish, the only write),
// so one table drives both simulators through the states an adapter must survive: not ready yet,
// failed, expired, over the rolling cap, and a publish whose answer was lost.

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await admin(sim, 'POST', '/reset');
});

const DAY_MS = 86_400_000;

interface Platform {
  id: 'instagram' | 'threads';
  /** Graph version prefix the calls use (both simulators accept any, or none). */
  version: string;
  edges: { container: string; publish: string; limit: string };
  /** The container's status field. */
  statusField: 'status_code' | 'status';
  textField: 'caption' | 'text';
  textLimit: number;
  /** Parameters of a plain post. */
  post: Record<string, string>;
  /** A video container, for processing failures. */
  video: Record<string, string>;
  /** Subcode of a publish before the container is FINISHED. */
  notReadySubcode: number;
  /** Where the container's failure reason shows, and how. */
  failureReason: string;
  failureShown: (body: Record<string, unknown>) => unknown;
  permalink: RegExp;
  maxChildren: number;
  carouselItem: Record<string, string>;
}

const PLATFORMS: Platform[] = [
  {
    id: 'instagram',
    version: '/v25.0',
    edges: { container: 'media', publish: 'media_publish', limit: 'content_publishing_limit' },
    statusField: 'status_code',
    textField: 'caption',
    textLimit: 2200,
    post: { image_url: 'https://cdn.example.com/cake.jpg', caption: 'Fresh out of the oven' },
    video: { media_type: 'REELS', video_url: 'https://cdn.example.com/cake.mp4', caption: 'Reel' },
    notReadySubcode: 2207027,
    failureReason: '2207026',
    failureShown: (body) => body.status,
    permalink: /^https:\/\/www\.instagram\.com\/p\/[\w-]{11}\/$/,
    maxChildren: 10,
    carouselItem: { image_url: 'https://cdn.example.com/slide.jpg', is_carousel_item: 'true' },
  },
  {
    id: 'threads',
    version: '/v1.0',
    edges: { container: 'threads', publish: 'threads_publish', limit: 'threads_publishing_limit' },
    statusField: 'status',
    textField: 'text',
    textLimit: 500,
    post: { media_type: 'TEXT', text: 'Fresh out of the oven' },
    video: { media_type: 'VIDEO', video_url: 'https://cdn.example.com/cake.mp4', text: 'Video' },
    notReadySubcode: 4279009,
    failureReason: 'FAILED_PROCESSING_VIDEO',
    failureShown: (body) => body.error_message,
    permalink: /^https:\/\/www\.threads\.net\/@simulated\.studio\/post\/[\w-]{11}$/,
    maxChildren: 20,
    carouselItem: { media_type: 'IMAGE', image_url: 'https://cdn.example.com/slide.jpg', is_carousel_item: 'true' },
  },
];

/** The parts of Graph answers these tests read. */
interface GraphBody extends Record<string, unknown> {
  id?: string;
  permalink?: string;
  data?: Record<string, unknown>[];
  paging?: { next?: string; cursors: { before: string; after: string } };
  error?: { code: number; error_subcode?: number; error_user_title?: string; error_user_msg?: string };
}

interface GraphReply {
  status: number;
  body: GraphBody;
}

/** A caller of one platform with an admin-minted token: POSTs send a form body, GETs a query. */
async function connect(p: Platform, accountId?: string) {
  // Publishing runs on the 60-day token; the admin mint issues the policy's (1-hour) lifetime.
  await admin(sim, 'PATCH', `/${p.id}/policy`, { accessTtlS: 5_184_000 });
  const minted = await admin<{ accountId: string; accessToken: string }>(sim, 'POST', `/${p.id}/tokens`, {
    accountId,
  });
  const call = async (method: string, path: string, params: Record<string, string> = {}): Promise<GraphReply> => {
    const url = new URL(`${sim.url}/${p.id}${p.version}${path}`);
    const post = method === 'POST';
    if (!post) for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${minted.accessToken}` },
      body: post ? new URLSearchParams(params) : undefined,
    });
    return { status: res.status, body: (await res.json()) as GraphBody };
  };
  const user = minted.accountId;
  const create = async (params: Record<string, string> = p.post) => {
    const res = await call('POST', `/${user}/${p.edges.container}`, params);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.id as string;
  };
  const status = async (id: string) => {
    const res = await call('GET', `/${id}`, { fields: `${p.statusField},status,error_message,id` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  /** Polls until the container leaves IN_PROGRESS; the simulators finish at the second poll. */
  const settle = async (id: string) => {
    for (let i = 0; i < 5; i++) {
      const body = await status(id);
      if (body[p.statusField] !== 'IN_PROGRESS') return body;
    }
    throw new Error(`container ${id} never left IN_PROGRESS`);
  };
  const publish = (id: string) => call('POST', `/${user}/${p.edges.publish}?creation_id=${id}`);
  /** Creates a container, waits for it, publishes it; returns the media id. */
  const post = async (params: Record<string, string> = p.post) => {
    const id = await create(params);
    expect((await settle(id))[p.statusField]).toBe('FINISHED');
    const res = await publish(id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { containerId: id, mediaId: res.body.id as string };
  };
  const limit = async () => {
    const res = await call('GET', `/${user}/${p.edges.limit}`, {
      fields: 'quota_usage,config,reply_quota_usage,reply_config',
    });
    expect(res.status).toBe(200);
    return res.body.data?.[0];
  };
  return { user, call, create, status, settle, publish, post, limit };
}

const writes = (p: Platform, route = 'publish') => admin<WriteRecord[]>(sim, 'GET', `/${p.id}/writes?route=${route}`);
const advance = (advanceMs: number) => admin(sim, 'POST', '/clock', { advanceMs });

describe.each(PLATFORMS)('$id container publishing', (p) => {
  it('goes IN_PROGRESS → FINISHED → PUBLISHED with exactly one write, and the post reads back', async () => {
    const c = await connect(p);
    const id = await c.create();
    expect(await writes(p)).toHaveLength(0);

    // Publishing before the container is ready is refused and writes nothing.
    const early = await c.publish(id);
    expect(early.status).toBe(400);
    expect(early.body.error).toMatchObject({ error_subcode: p.notReadySubcode, is_transient: false });
    expect(await writes(p)).toHaveLength(0);

    expect((await c.status(id))[p.statusField]).toBe('IN_PROGRESS');
    expect((await c.status(id))[p.statusField]).toBe('FINISHED');
    const published = await c.publish(id);
    expect(published.status).toBe(200);
    const mediaId = published.body.id as string;
    expect(mediaId).toMatch(/^\d+$/);
    expect(mediaId).not.toBe(id);
    expect((await c.status(id))[p.statusField]).toBe('PUBLISHED');

    const [write, ...more] = await writes(p);
    expect(more).toHaveLength(0);
    expect(write).toMatchObject({
      accountId: c.user,
      data: { containerId: id, mediaId, [p.textField]: p.post[p.textField] },
    });

    const media = await c.call('GET', `/${mediaId}`, { fields: `id,permalink,timestamp,${p.textField}` });
    expect(media.status).toBe(200);
    expect(media.body).toMatchObject({ id: mediaId, [p.textField]: p.post[p.textField] });
    expect(media.body.permalink).toMatch(p.permalink);
    expect(media.body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);

    const list = await c.call('GET', `/me/${p.edges.container}`, { fields: 'id,permalink' });
    expect(list.body.data).toEqual([{ id: mediaId, permalink: media.body.permalink }]);
  });

  it('reports a processing failure as ERROR with its reason, and refuses to publish it', async () => {
    const c = await connect(p);
    const id = await c.create(p.video);
    await admin(sim, 'POST', `/${p.id}/jobs/fail`, { kind: 'container', reason: p.failureReason, id });
    const body = await c.settle(id);
    expect(body[p.statusField]).toBe('ERROR');
    expect(String(p.failureShown(body))).toContain(p.failureReason);

    const res = await c.publish(id);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: -1, error_subcode: 2207032 });
    expect(await writes(p)).toHaveLength(0);

    // The next container may be set to fail before it exists.
    await admin(sim, 'POST', `/${p.id}/jobs/fail`, { kind: 'container', reason: p.failureReason });
    expect((await c.settle(await c.create(p.video)))[p.statusField]).toBe('ERROR');
    expect((await c.settle(await c.create(p.video)))[p.statusField]).toBe('FINISHED');
  });

  it('expires an unpublished container after 24 h and refuses to publish it', async () => {
    const c = await connect(p);
    const id = await c.create();
    expect((await c.settle(id))[p.statusField]).toBe('FINISHED');
    await advance(DAY_MS - 1000);
    expect((await c.status(id))[p.statusField]).toBe('FINISHED');
    await advance(1000);
    expect((await c.status(id))[p.statusField]).toBe('EXPIRED');

    const res = await c.publish(id);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: -2, error_subcode: 2207020 });
    expect(await writes(p)).toHaveLength(0);
  });

  it('enforces the rolling publish cap from the publishCap knob and shows the usage', async () => {
    const c = await connect(p);
    await admin(sim, 'PATCH', `/${p.id}/knobs`, { publishCap: 2 });
    expect(await c.limit()).toMatchObject({ quota_usage: 0, config: { quota_total: 2, quota_duration: 86_400 } });

    await c.post();
    await advance(3_600_000);
    await c.post();
    expect(await c.limit()).toMatchObject({ quota_usage: 2, config: { quota_total: 2 } });

    const third = await c.create();
    await c.settle(third);
    const refused = await c.publish(third);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 9, error_subcode: 2207042, is_transient: false });
    expect(refused.body.error?.error_user_msg).toContain('maximum number of posts');
    expect(await writes(p)).toHaveLength(2);

    // Rolling: 24 h after the first post one slot is free, and the waiting container still is valid.
    await advance(DAY_MS - 3_600_000);
    expect(await c.limit()).toMatchObject({ quota_usage: 1 });
    expect((await c.publish(third)).status).toBe(200);
    expect(await c.limit()).toMatchObject({ quota_usage: 2 });
    expect(await writes(p)).toHaveLength(3);

    await advance(DAY_MS);
    expect(await c.limit()).toMatchObject({ quota_usage: 0 });
  });

  it('lands a publish whose answer is lost exactly once; the container says PUBLISHED and a retry is refused', async () => {
    const c = await connect(p);
    const id = await c.create();
    await c.settle(id);
    await admin(sim, 'POST', `/${p.id}/faults`, { route: 'publish', kind: 'drop_after' });
    await expect(c.publish(id)).rejects.toThrow();

    expect((await c.status(id))[p.statusField]).toBe('PUBLISHED');
    const landed = await writes(p);
    expect(landed).toHaveLength(1);

    const retry = await c.publish(id);
    expect(retry.status).toBe(400);
    expect(retry.body.error).toMatchObject({ code: 100, error_user_title: 'Media already published' });
    expect(await writes(p)).toHaveLength(1);
    // The account's media list is the other truth: one post, the one that landed.
    const list = await c.call('GET', `/${c.user}/${p.edges.container}`);
    expect(list.body.data).toEqual([{ id: landed[0]!.data.mediaId }]);
  });

  it("publishes only to the token's own account and only its own containers", async () => {
    const c = await connect(p);
    const other = `9${Date.now()}`;
    await admin(sim, 'POST', `/${p.id}/accounts`, { id: other, name: 'Other Studio', handle: 'other.studio' });
    const o = await connect(p, other);

    const foreignUser = await c.call('POST', `/${other}/${p.edges.container}`, p.post);
    expect(foreignUser.status).toBe(400);
    expect(foreignUser.body.error).toMatchObject({ code: 100, error_subcode: 33 });

    const id = await c.create();
    await c.settle(id);
    const foreignContainer = await o.publish(id);
    expect(foreignContainer.status).toBe(400);
    expect(foreignContainer.body.error?.code).toBe(24);
    expect((await o.call('GET', `/${id}`, { fields: p.statusField })).body.error).toMatchObject({ error_subcode: 33 });
    expect(await writes(p)).toHaveLength(0);

    const unauthenticated = await fetch(
      `${sim.url}/${p.id}${p.version}/${c.user}/${p.edges.publish}?creation_id=${id}`,
      {
        method: 'POST',
      },
    );
    expect(unauthenticated.status).toBe(400);
    expect(((await unauthenticated.json()) as GraphBody).error?.code).toBe(2500);
  });

  it('validates text length and carousels of finished children', async () => {
    const c = await connect(p);
    const long = await c.call('POST', `/me/${p.edges.container}`, {
      ...p.post,
      [p.textField]: 'x'.repeat(p.textLimit + 1),
    });
    expect(long.status).toBe(400);
    expect(long.body.error?.code).toBe(100);
    await c.create({ ...p.post, [p.textField]: '🍰'.repeat(p.textLimit) });

    const children = [await c.create(p.carouselItem), await c.create(p.carouselItem)];
    const carousel = { media_type: 'CAROUSEL', children: children.join(','), [p.textField]: 'Two slides' };
    const unfinished = await c.call('POST', `/me/${p.edges.container}`, carousel);
    expect(unfinished.status).toBe(400);
    expect(unfinished.body.error?.error_subcode).toBe(p.notReadySubcode);

    for (const child of children) await c.settle(child);
    const alone = await c.publish(children[0]!);
    expect(alone.status).toBe(400);
    expect(await writes(p)).toHaveLength(0);

    const tooMany = await c.call('POST', `/me/${p.edges.container}`, {
      ...carousel,
      children: Array.from({ length: p.maxChildren + 1 }, () => children[0]).join(','),
    });
    expect(tooMany.body.error).toMatchObject({ code: 100, error_subcode: 2207028 });

    const { mediaId } = await c.post(carousel);
    const media = await c.call('GET', `/${mediaId}`, { fields: `media_type,${p.textField}` });
    expect(media.body).toEqual({ id: mediaId, media_type: 'CAROUSEL_ALBUM', [p.textField]: 'Two slides' });
    expect(await writes(p)).toHaveLength(1);
  });
});

describe('Threads specifics', () => {
  const threads = PLATFORMS[1]!;

  it('deletes a post once (a write), after which it is gone, within the daily delete cap', async () => {
    const c = await connect(threads);
    const { mediaId } = await c.post();
    const kept = await c.post();
    const deleted = await c.call('DELETE', `/${mediaId}`);
    expect(deleted).toEqual({ status: 200, body: { success: true, deleted_id: mediaId } });
    expect(await writes(threads, 'delete')).toMatchObject([{ data: { mediaId } }]);

    const gone = await c.call('GET', `/${mediaId}`, { fields: 'id,permalink' });
    expect(gone.body.error).toMatchObject({ code: 100, error_subcode: 33 });
    expect((await c.call('DELETE', `/${mediaId}`)).status).toBe(400);
    expect(await writes(threads, 'delete')).toHaveLength(1);
    expect((await c.call('GET', '/me/threads')).body.data).toEqual([{ id: kept.mediaId }]);
    // Deleting does not give the publish quota back.
    expect(await c.limit()).toMatchObject({ quota_usage: 2 });

    await admin(sim, 'PATCH', '/threads/knobs', { deleteCap: 1 });
    const capped = await c.call('DELETE', `/${kept.mediaId}`);
    expect(capped.status).toBe(400);
    expect(capped.body.error).toMatchObject({ code: 9, error_user_title: 'Cannot delete' });
    await advance(DAY_MS);
    expect((await c.call('DELETE', `/${kept.mediaId}`)).status).toBe(200);
    expect(await writes(threads, 'delete')).toHaveLength(2);
  });

  it('counts replies against their own quota', async () => {
    const c = await connect(threads);
    const { mediaId } = await c.post();
    const reply = await c.post({ media_type: 'TEXT', text: 'And a reply', reply_to_id: mediaId });
    expect(await c.limit()).toEqual({
      quota_usage: 1,
      config: { quota_total: 250, quota_duration: 86_400 },
      reply_quota_usage: 1,
      reply_config: { quota_total: 1000, quota_duration: 86_400 },
    });
    const read = await c.call('GET', `/${reply.mediaId}`, { fields: 'is_reply,replied_to' });
    expect(read.body).toEqual({ id: reply.mediaId, is_reply: true, replied_to: { id: mediaId } });

    await admin(sim, 'PATCH', '/threads/knobs', { replyCap: 1 });
    const second = await c.create({ media_type: 'TEXT', text: 'Another reply', reply_to_id: mediaId });
    await c.settle(second);
    const refused = await c.publish(second);
    expect(refused.body.error).toMatchObject({ code: 9, error_subcode: 2207042 });
    expect(refused.body.error?.error_user_msg).toContain('replies');
    // Posts still go out: the reply cap is separate.
    await c.post();
  });
});

describe('Instagram specifics', () => {
  const instagram = PLATFORMS[0]!;

  it('pages its media list newest first with Graph cursors', async () => {
    const c = await connect(instagram);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await c.post()).mediaId);
    const first = await c.call('GET', `/${c.user}/media`, { limit: '2' });
    expect(first.body.data).toEqual([{ id: ids[2] }, { id: ids[1] }]);
    expect(first.body.paging?.next).toContain('after=');
    const next = await fetch(first.body.paging!.next!);
    const second = (await next.json()) as GraphBody;
    expect(second.data).toEqual([{ id: ids[0] }]);
    expect(second.paging?.next).toBeUndefined();
  });

  it('refuses single feed videos, which are Reels now, and links Reels under /reel/', async () => {
    const c = await connect(instagram);
    const video = await c.call('POST', `/${c.user}/media`, { media_type: 'VIDEO', video_url: 'https://cdn/x.mp4' });
    expect(video.body.error).toMatchObject({ code: 100, error_subcode: 2207023 });
    const { mediaId } = await c.post(instagram.video);
    const reel = await c.call('GET', `/${mediaId}`, { fields: 'media_type,media_product_type,permalink' });
    expect(reel.body).toMatchObject({ media_type: 'VIDEO', media_product_type: 'REELS' });
    expect(reel.body.permalink).toMatch(/^https:\/\/www\.instagram\.com\/reel\/[\w-]{11}\/$/);
  });
});
