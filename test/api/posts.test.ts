import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestSystem, createWorkspace, signUp, sql, type TestSystem } from '../helpers.ts';

// Posts, targets and the validation in front of scheduling. Scheduling itself tells Temporal; those
// tests assert what PostgreSQL holds (the end-to-end publish tests cover the workflow).

let sys: TestSystem;
beforeAll(async () => {
  sys = await createTestSystem();
  await sys.startWorker();
});
afterAll(() => sys.close());

const DAY = 24 * 3600_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

interface Tenant {
  token: string;
  userId: string;
  ws: string;
}

async function tenant(label = 'owner'): Promise<Tenant> {
  const user = await signUp(sys.app, label);
  return { token: user.token, userId: user.id, ws: await createWorkspace(sys.app, user.token) };
}

async function connection(ws: string, platform: string, status = 'active'): Promise<string> {
  const id = randomUUID();
  await sql(
    sys.orm,
    `insert into connections (id, workspace_id, platform, external_id, display_name, status, scopes, token_issued_at, created_at, updated_at)
     values (?, ?, ?, ?, 'Acct', ?, '[]', now(), now(), now())`,
    [id, ws, platform, `ext-${id}`, status],
  );
  return id;
}

async function tag(ws: string, name = `tag-${randomUUID().slice(0, 8)}`): Promise<string> {
  const id = randomUUID();
  await sql(sys.orm, 'insert into tags (id, workspace_id, name, created_at) values (?, ?, ?, now())', [id, ws, name]);
  return id;
}

async function column(ws: string): Promise<string> {
  const id = randomUUID();
  await sql(
    sys.orm,
    "insert into board_columns (id, workspace_id, name, position, created_at) values (?, ?, 'Ideas', 0, now())",
    [id, ws],
  );
  return id;
}

const call = (t: Tenant, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: unknown) =>
  sys.app.inject({
    method,
    url: `/v1/workspaces/${t.ws}${path}`,
    headers: bearer(t.token),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

const text = (caption: string, platform = 'default') => ({ platform, caption, media: [] });
const image = { url: 'https://cdn.example/a.jpg', kind: 'image', mimeType: 'image/jpeg', sizeBytes: 120_000 };
const video = { url: 'https://cdn.example/a.mp4', kind: 'video', mimeType: 'video/mp4', sizeBytes: 9_000_000 };

async function createPost(t: Tenant, body: Record<string, unknown>) {
  const res = await call(t, 'POST', '/posts', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const targetRow = async (id: string) =>
  (
    await sql<{ status: string; due_at: Date | null; schedule_version: number }>(
      sys.orm,
      'select status, due_at, schedule_version from post_targets where id = ?',
      [id],
    )
  )[0];
const setTarget = (id: string, status: string, dueAt: string | null = null) =>
  sql(sys.orm, 'update post_targets set status = ?, due_at = ? where id = ?', [status, dueAt, id]);

describe('post CRUD', () => {
  it('creates a post with variants, tags and draft targets, and reads it back', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const li = await connection(t.ws, 'linkedin');
    const [tagA, tagB] = [await tag(t.ws), await tag(t.ws)];
    const col = await column(t.ws);
    const due = inDays(3);
    const post = await createPost(t, {
      title: 'Launch',
      columnId: col,
      tagIds: [tagA, tagB],
      variants: [text('Short for X', 'x'), { ...text('Hello everyone'), media: [image], options: { note: 'n' } }],
      targets: [{ connectionId: x, dueAt: due }, { connectionId: li }],
    });
    expect(post).toMatchObject({
      workspaceId: t.ws,
      title: 'Launch',
      columnId: col,
      position: 0,
      requiresApproval: false,
      approvalState: 'not_required',
      contentVersion: 1,
      createdBy: t.userId,
      tagIds: [tagA, tagB].sort(),
    });
    expect(post.variants.map((v: { platform: string }) => v.platform)).toEqual(['default', 'x']);
    expect(post.variants[0]).toMatchObject({ caption: 'Hello everyone', media: [image], options: { note: 'n' } });
    expect(post.targets).toHaveLength(2);
    const xTarget = post.targets.find((tg: { connectionId: string }) => tg.connectionId === x);
    expect(xTarget).toMatchObject({ platform: 'x', status: 'draft', dueAt: due, scheduleVersion: 0 });

    const read = await call(t, 'GET', `/posts/${post.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(post);

    const audit = await sql(sys.orm, "select 1 from audit_events where action = 'post.created' and target_id = ?", [
      post.id,
    ]);
    expect(audit).toHaveLength(1);
  });

  it('lists posts with filters and paging', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const tagged = await tag(t.ws);
    const col = await column(t.ws);
    const a = await createPost(t, { variants: [text('a')], tagIds: [tagged] });
    const b = await createPost(t, { variants: [text('b')], columnId: col, targets: [{ connectionId: x }] });
    const c = await createPost(t, { variants: [text('c')], targets: [{ connectionId: x }] });
    await setTarget(c.targets[0].id, 'scheduled', inDays(2));

    const ids = async (query: string) => {
      const res = await call(t, 'GET', `/posts${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { items: { id: string }[]; total: number };
    };
    const all = await ids('');
    expect(all.total).toBe(3);
    expect(all.items.map((p) => p.id)).toEqual([c.id, b.id, a.id]);
    expect((await ids(`?tagId=${tagged}`)).items.map((p) => p.id)).toEqual([a.id]);
    expect((await ids(`?columnId=${col}`)).items.map((p) => p.id)).toEqual([b.id]);
    expect((await ids('?status=scheduled')).items.map((p) => p.id)).toEqual([c.id]);
    expect((await ids('?status=draft')).items.map((p) => p.id)).toEqual([b.id]);
    const page = await ids('?limit=1&offset=1');
    expect(page).toMatchObject({ total: 3, items: [{ id: b.id }] });
    expect((await call(t, 'GET', '/posts?limit=0')).statusCode).toBe(400);
  });

  it('edits title, tags and column; identical variants leave contentVersion alone', async () => {
    const t = await tenant();
    const col = await column(t.ws);
    const newTag = await tag(t.ws);
    const post = await createPost(t, {
      title: 'Old',
      variants: [text('Default'), { ...text('X text', 'x'), options: { replySettings: 'following' } }],
      tagIds: [await tag(t.ws)],
    });
    const res = await call(t, 'PATCH', `/posts/${post.id}`, {
      title: 'New',
      columnId: col,
      tagIds: [newTag],
      // Same content, other order: not a change.
      variants: [{ ...text('X text', 'x'), options: { replySettings: 'following' } }, text('Default')],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ title: 'New', columnId: col, tagIds: [newTag], contentVersion: 1 });
    const cleared = await call(t, 'PATCH', `/posts/${post.id}`, { title: null, columnId: null });
    expect(cleared.json()).toMatchObject({ title: null, columnId: null });
  });

  it('places a post among its column’s posts and renumbers the others', async () => {
    const t = await tenant();
    const col = await column(t.ws);
    const other = await column(t.ws);
    const [a, b, c] = [
      await createPost(t, { title: 'a', columnId: col, variants: [text('a')] }),
      await createPost(t, { title: 'b', columnId: col, variants: [text('b')] }),
      await createPost(t, { title: 'c', columnId: col, variants: [text('c')] }),
    ];
    expect([a.position, b.position, c.position]).toEqual([0, 1, 2]);
    const order = async (columnId: string) =>
      (
        await sql<{ title: string; position: number }>(
          sys.orm,
          'select title, position from posts where column_id = ? order by position',
          [columnId],
        )
      ).map((r) => `${r.title}${r.position}`);
    expect((await call(t, 'PATCH', `/posts/${c.id}`, { position: 0 })).json().position).toBe(0);
    expect(await order(col)).toEqual(['c0', 'a1', 'b2']);
    // Same column, no position: it keeps its place.
    await call(t, 'PATCH', `/posts/${a.id}`, { columnId: col });
    expect(await order(col)).toEqual(['c0', 'a1', 'b2']);
    await call(t, 'PATCH', `/posts/${a.id}`, { columnId: other });
    expect(await order(col)).toEqual(['c0', 'b1']);
    expect(await order(other)).toEqual(['a0']);
    expect((await call(t, 'DELETE', `/posts/${c.id}`)).statusCode).toBe(204);
    expect(await order(col)).toEqual(['b0']);
  });

  it('deletes a post with everything under it, audited', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const post = await createPost(t, {
      variants: [text('bye')],
      targets: [{ connectionId: x }],
      tagIds: [await tag(t.ws)],
    });
    await setTarget(post.targets[0].id, 'scheduled', inDays(5));
    const res = await call(t, 'DELETE', `/posts/${post.id}`);
    expect(res.statusCode, res.body).toBe(204);
    expect((await call(t, 'GET', `/posts/${post.id}`)).statusCode).toBe(404);
    for (const table of ['post_variants', 'post_targets', 'post_tags']) {
      expect(await sql(sys.orm, `select 1 from ${table} where post_id = ?`, [post.id])).toHaveLength(0);
    }
    const audit = await sql<{ details: { targets: number } }>(
      sys.orm,
      "select details from audit_events where action = 'post.deleted' and target_id = ?",
      [post.id],
    );
    expect(audit).toEqual([{ details: { targets: 1 } }]);
    expect((await call(t, 'DELETE', `/posts/${post.id}`)).statusCode).toBe(404);
  });

  it('validates the request shape and names the field', async () => {
    const t = await tenant();
    const bad = async (body: unknown, field: string) => {
      const res = await call(t, 'POST', '/posts', body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.field).toBe(field);
    };
    await bad({ variants: [] }, 'body.variants');
    await bad(
      { variants: [{ ...text('x'), media: [{ ...image, url: 'ftp://cdn.example/a.jpg' }] }] },
      'body.variants.0.media.0.url',
    );
    await bad(
      { variants: [{ ...text('x'), media: [{ ...image, sizeBytes: -1 }] }] },
      'body.variants.0.media.0.sizeBytes',
    );
    await bad({ variants: [{ ...text('x'), media: [{ ...image, kind: 'audio' }] }] }, 'body.variants.0.media.0.kind');
    await bad({ variants: [{ ...text('x'), media: [{ ...image, handle: 'h' }] }] }, 'body.variants.0.media.0.handle');
    await bad({ variants: [text('x', 'myspace')] }, 'body.variants.0.platform');
    await bad({ variants: [text('a'), text('b')] }, 'body.variants[1].platform');
  });
});

describe('tenant isolation', () => {
  it("answers 404 for another workspace's posts and targets", async () => {
    const a = await tenant('a');
    const b = await tenant('b');
    const x = await connection(a.ws, 'x');
    const post = await createPost(a, { variants: [text('mine')], targets: [{ connectionId: x }] });
    const targetId = post.targets[0].id;

    // B asks through its own workspace: the post is not found there.
    for (const [method, path, payload] of [
      ['GET', `/posts/${post.id}`, undefined],
      ['PATCH', `/posts/${post.id}`, { title: 'hijack' }],
      ['DELETE', `/posts/${post.id}`, undefined],
      ['POST', `/posts/${post.id}/schedule`, { dueAt: inDays(1) }],
      ['POST', `/posts/${post.id}/unschedule`, undefined],
      ['POST', `/posts/${post.id}/publish-now`, undefined],
      ['GET', `/posts/${post.id}/targets/${targetId}`, undefined],
      ['PATCH', `/posts/${post.id}/targets/${targetId}`, { dueAt: inDays(1) }],
      ['DELETE', `/posts/${post.id}/targets/${targetId}`, undefined],
    ] as const) {
      const res = await call(b, method, path, payload);
      expect(res.statusCode, `${method} ${path}`).toBe(404);
    }
    // B asks through A's workspace: not a member.
    const direct = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${a.ws}/posts/${post.id}`,
      headers: bearer(b.token),
    });
    expect(direct.statusCode).toBe(404);
    expect(direct.json().error.message).toMatch(/workspace/);
    expect((await call(b, 'GET', '/posts')).json().total).toBe(0);
    expect((await call(a, 'GET', `/posts/${post.id}`)).json().title).toBeNull();
    expect(await targetRow(targetId)).toMatchObject({ status: 'draft' });
  });

  it("refuses another workspace's column, template, tag or connection, writing nothing", async () => {
    const a = await tenant('a');
    const b = await tenant('b');
    const foreignTemplate = randomUUID();
    await sql(
      sys.orm,
      "insert into templates (id, workspace_id, name, caption, created_at, updated_at) values (?, ?, 'T', '', now(), now())",
      [foreignTemplate, a.ws],
    );
    const cases: [Record<string, unknown>, string][] = [
      [{ columnId: await column(a.ws) }, 'body.columnId'],
      [{ templateId: foreignTemplate }, 'body.templateId'],
      [{ tagIds: [await tag(b.ws), await tag(a.ws)] }, 'body.tagIds[1]'],
      [{ targets: [{ connectionId: await connection(a.ws, 'x') }] }, 'body.targets[0].connectionId'],
    ];
    for (const [extra, field] of cases) {
      const res = await call(b, 'POST', '/posts', { variants: [text('x')], ...extra });
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json().error).toMatchObject({ code: 'NOT_FOUND', field });
    }
    expect(await sql(sys.orm, 'select 1 from posts where workspace_id = ?', [b.ws])).toHaveLength(0);
    const post = await createPost(b, { variants: [text('x')] });
    const patch = await call(b, 'PATCH', `/posts/${post.id}`, { columnId: await column(a.ws) });
    expect(patch.json().error).toMatchObject({ code: 'NOT_FOUND', field: 'body.columnId' });
    const target = await call(b, 'POST', `/posts/${post.id}/targets`, { connectionId: await connection(a.ws, 'x') });
    expect(target.json().error).toMatchObject({ code: 'NOT_FOUND', field: 'body.connectionId' });
  });
});

describe('targets', () => {
  it('adds, refuses duplicates, inactive and WhatsApp connections, and removes', async () => {
    const t = await tenant();
    const post = await createPost(t, { variants: [text('hello')] });
    const li = await connection(t.ws, 'linkedin');
    const add = (connectionId: string, dueAt?: string) =>
      call(t, 'POST', `/posts/${post.id}/targets`, { connectionId, ...(dueAt ? { dueAt } : {}) });

    const due = inDays(2);
    const created = await add(li, due);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      postId: post.id,
      connectionId: li,
      platform: 'linkedin',
      status: 'draft',
      dueAt: due,
    });
    expect((await add(li)).json().error).toMatchObject({ code: 'TARGET_EXISTS', field: 'body.connectionId' });

    const whatsapp = await add(await connection(t.ws, 'whatsapp'));
    expect(whatsapp.statusCode).toBe(400);
    expect(whatsapp.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.connectionId' });
    expect(whatsapp.json().error.message).toMatch(/^whatsapp\.no_feed: /);

    const stale = await add(await connection(t.ws, 'x', 'needs_reconnect'));
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe('CONNECTION_NOT_ACTIVE');

    const removed = await call(t, 'DELETE', `/posts/${post.id}/targets/${created.json().id}`);
    expect(removed.statusCode).toBe(204);
    expect((await call(t, 'GET', `/posts/${post.id}`)).json().targets).toEqual([]);
  });

  it('refuses a WhatsApp target when creating a post, writing nothing', async () => {
    const t = await tenant();
    const res = await call(t, 'POST', '/posts', {
      title: 'nope',
      variants: [text('Hi')],
      targets: [{ connectionId: await connection(t.ws, 'x') }, { connectionId: await connection(t.ws, 'whatsapp') }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe('body.targets[1].connectionId');
    expect(res.json().error.message).toMatch(/^whatsapp\.no_feed: /);
    expect(await sql(sys.orm, 'select 1 from posts where workspace_id = ?', [t.ws])).toHaveLength(0);
  });

  it('shows a target’s status with its attempts, never their handles', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const post = await createPost(t, { variants: [text('hi')], targets: [{ connectionId: x }] });
    const target = post.targets[0];
    await sql(
      sys.orm,
      `update post_targets set status = 'published', platform_post_id = '1789', permalink = 'https://x.com/i/status/1789',
              published_at = now(), published_content_version = 1 where id = ?`,
      [target.id],
    );
    await sql(
      sys.orm,
      `insert into publish_attempts (id, workspace_id, target_id, step, idempotency_key, content_version, state, handle,
                                     error_kind, error_message, started_at, finished_at)
       values (?, ?, ?, 'prepare', ?, 1, 'succeeded', '{"mediaIds":["secret-media-4242"]}', null, null, now() - interval '1 minute', now()),
              (?, ?, ?, 'commit', ?, 1, 'unknown', '{"session":"secret-session-777"}', 'outcome_unknown', 'timeout secret-session-777', now(), null)`,
      [randomUUID(), t.ws, target.id, `${target.id}:prepare:1`, randomUUID(), t.ws, target.id, `${target.id}:commit:1`],
    );
    const res = await call(t, 'GET', `/posts/${post.id}/targets/${target.id}`);
    expect(res.statusCode).toBe(200);
    const view = res.json();
    expect(view).toMatchObject({
      id: target.id,
      status: 'published',
      platformPostId: '1789',
      permalink: 'https://x.com/i/status/1789',
      publishedAt: expect.any(String),
      attempts: [
        { step: 'prepare', state: 'succeeded', errorKind: null, finishedAt: expect.any(String) },
        { step: 'commit', state: 'unknown', errorKind: 'outcome_unknown', finishedAt: null },
      ],
    });
    expect(res.body).not.toMatch(/secret-|handle/);
  });
});

describe('validation before scheduling', () => {
  async function scheduleFails(
    t: Tenant,
    platform: string,
    variant: Record<string, unknown>,
    expected: { rule: string; field: string; code?: string },
  ) {
    const conn = await connection(t.ws, platform);
    const post = await createPost(t, { variants: [variant], targets: [{ connectionId: conn }] });
    const res = await call(t, 'POST', `/posts/${post.id}/schedule`, { dueAt: inDays(1) });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({ code: expected.code ?? 'VALIDATION_FAILED', field: expected.field });
    expect(res.json().error.message).toMatch(new RegExp(`^${expected.rule.replace('.', '\\.')}: `));
    // Nothing was written.
    expect(await targetRow(post.targets[0].id)).toMatchObject({ status: 'draft', due_at: null, schedule_version: 0 });
    return post;
  }

  it('refuses X text over 280 (weighted)', async () => {
    const t = await tenant();
    await scheduleFails(t, 'x', text('日'.repeat(141)), { rule: 'x.text_length', field: 'variants[0].caption' });
  });

  it('refuses a YouTube upload without a title', async () => {
    const t = await tenant();
    await scheduleFails(
      t,
      'youtube',
      { ...text('desc'), media: [video] },
      {
        rule: 'youtube.title_required',
        field: 'variants[0].options.title',
      },
    );
  });

  it('refuses an Instagram post without media', async () => {
    const t = await tenant();
    await scheduleFails(t, 'instagram', text('caption only'), {
      rule: 'instagram.media_required',
      field: 'variants[0].media',
    });
  });

  it('checks the platform’s own variant over default and names it', async () => {
    const t = await tenant();
    const tiktok = await connection(t.ws, 'tiktok');
    const post = await createPost(t, {
      variants: [
        { ...text('ok'), media: [video], options: { privacyLevel: 'SELF_ONLY' } },
        { ...text('tt', 'tiktok'), media: [video] },
      ],
      targets: [{ connectionId: tiktok }],
    });
    const res = await call(t, 'POST', `/posts/${post.id}/schedule`, { dueAt: inDays(1) });
    expect(res.json().error).toMatchObject({ field: 'variants[1].options.privacyLevel' });
    expect(res.json().error.message).toMatch(/^tiktok\.privacy_level: /);
  });

  it('refuses due times more than a year ahead, and targets without any due time', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const post = await createPost(t, { variants: [text('hi')], targets: [{ connectionId: x }] });
    const far = await call(t, 'POST', `/posts/${post.id}/schedule`, { dueAt: inDays(366) });
    expect(far.statusCode).toBe(400);
    expect(far.json().error).toMatchObject({ field: 'body.dueAt' });
    expect(far.json().error.message).toMatch(/^schedule\.too_far_ahead: /);
    const none = await call(t, 'POST', `/posts/${post.id}/schedule`, {});
    expect(none.statusCode).toBe(400);
    expect(none.json().error.field).toBe('body.dueAt');
    const empty = await createPost(t, { variants: [text('no targets')] });
    expect((await call(t, 'POST', `/posts/${empty.id}/schedule`, { dueAt: inDays(1) })).json().error.code).toBe(
      'NO_TARGETS',
    );
    expect((await call(t, 'POST', `/posts/${empty.id}/publish-now`)).json().error.code).toBe('NO_TARGETS');
  });

  it("refuses a post that would break the connection's publish cap", async () => {
    const t = await tenant();
    const tiktok = await connection(t.ws, 'tiktok');
    const due = new Date(Date.now() + 10 * DAY);
    // 15 TikTok posts (the daily cap) already planned within 24 h of the due time on this account.
    for (let i = 0; i < 15; i++) {
      const post = randomUUID();
      await sql(sys.orm, 'insert into posts (id, workspace_id, created_at, updated_at) values (?, ?, now(), now())', [
        post,
        t.ws,
      ]);
      await sql(
        sys.orm,
        `insert into post_targets (id, workspace_id, post_id, connection_id, platform, due_at, status, created_at, updated_at)
         values (?, ?, ?, ?, 'tiktok', ?, 'scheduled', now(), now())`,
        [randomUUID(), t.ws, post, tiktok, new Date(due.getTime() - (i + 1) * 3600_000)],
      );
    }
    const variants = [{ ...text('dance'), media: [video], options: { privacyLevel: 'PUBLIC_TO_EVERYONE' } }];
    const post = await createPost(t, { variants, targets: [{ connectionId: tiktok }] });
    const res = await call(t, 'POST', `/posts/${post.id}/schedule`, {
      targets: [{ targetId: post.targets[0].id, dueAt: due.toISOString() }],
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'PUBLISH_CAP_REACHED', field: 'body.targets[0].dueAt' });
    expect(res.json().error.message).toMatch(/^tiktok\.publish_cap: /);
    expect(await targetRow(post.targets[0].id)).toMatchObject({ status: 'draft', schedule_version: 0 });

    // Rescheduling an already planned target into the full window is refused the same way.
    const other = await createPost(t, { variants, targets: [{ connectionId: tiktok }] });
    await setTarget(other.targets[0].id, 'scheduled', new Date(due.getTime() + 3 * DAY).toISOString());
    const moved = await call(t, 'PATCH', `/posts/${other.id}/targets/${other.targets[0].id}`, {
      dueAt: due.toISOString(),
    });
    expect(moved.statusCode).toBe(400);
    expect(moved.json().error).toMatchObject({ code: 'PUBLISH_CAP_REACHED', field: 'body.dueAt' });
    expect(await targetRow(other.targets[0].id)).toMatchObject({ schedule_version: 0 });
  });
});

describe('scheduling', () => {
  it('schedules draft targets, stores the plan, and a post that needs approval becomes pending', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const li = await connection(t.ws, 'linkedin');
    const post = await createPost(t, {
      requiresApproval: true,
      variants: [text('Launch day')],
      targets: [{ connectionId: x }, { connectionId: li, dueAt: inDays(40) }],
    });
    await sql(sys.orm, "update posts set approval_state = 'not_required' where id = ?", [post.id]);
    const xTarget = post.targets.find((tg: { connectionId: string }) => tg.connectionId === x);
    const xDue = inDays(30);
    const res = await call(t, 'POST', `/posts/${post.id}/schedule`, {
      targets: [{ targetId: xTarget.id, dueAt: xDue }],
    });
    expect([200, 202]).toContain(res.statusCode);
    const body = res.json();
    expect(body.workflow).toBe(res.statusCode === 200 ? 'started' : 'pending');
    expect(body.post.approvalState).toBe('pending');
    // Only the listed target: the other keeps its planned time as a draft.
    expect(await targetRow(xTarget.id)).toMatchObject({ status: 'scheduled', schedule_version: 1 });
    expect(new Date((await targetRow(xTarget.id))!.due_at!).toISOString()).toBe(xDue);
    const other = post.targets.find((tg: { connectionId: string }) => tg.connectionId === li);
    expect(await targetRow(other.id)).toMatchObject({ status: 'draft', schedule_version: 0 });

    // A scheduled target is not scheduled again; it is rescheduled.
    const again = await call(t, 'POST', `/posts/${post.id}/schedule`, {
      targets: [{ targetId: xTarget.id, dueAt: xDue }],
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('TARGET_NOT_SCHEDULABLE');

    const moved = await call(t, 'PATCH', `/posts/${post.id}/targets/${xTarget.id}`, { dueAt: inDays(31) });
    expect([200, 202]).toContain(moved.statusCode);
    expect(moved.json().target).toMatchObject({ status: 'scheduled', scheduleVersion: 2 });

    const un = await call(t, 'POST', `/posts/${post.id}/unschedule`);
    expect(un.statusCode).toBe(200);
    expect(await targetRow(xTarget.id)).toMatchObject({ status: 'draft', due_at: null, schedule_version: 3 });
    expect(un.json().post.targets.map((tg: { status: string }) => tg.status)).toEqual(['draft', 'draft']);
  });

  it('takes a due time in the past as now (checked, not published: the target is refused first)', async () => {
    const t = await tenant();
    const yt = await connection(t.ws, 'youtube');
    const post = await createPost(t, { variants: [{ ...text('d'), media: [image] }], targets: [{ connectionId: yt }] });
    const res = await call(t, 'POST', `/posts/${post.id}/schedule`, { dueAt: '2001-01-01T00:00:00.000Z' });
    // Past is fine as a time; the content is what is wrong.
    expect(res.json().error.message).toMatch(/^youtube\.title_required: /);
    const now = await call(t, 'POST', `/posts/${post.id}/publish-now`);
    expect(now.statusCode).toBe(400);
    expect(now.json().error).toMatchObject({ field: 'variants[0].options.title' });
    expect(await targetRow(post.targets[0].id)).toMatchObject({ status: 'draft', schedule_version: 0 });
  });
});

describe('edits while scheduled', () => {
  it('bumps contentVersion on a content change and sends an approved post back to pending', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const post = await createPost(t, {
      requiresApproval: true,
      variants: [text('v1')],
      targets: [{ connectionId: x }],
    });
    expect(post.approvalState).toBe('pending');
    await setTarget(post.targets[0].id, 'scheduled', inDays(3));
    await sql(sys.orm, "update posts set approval_state = 'approved', approval_decided_at = now() where id = ?", [
      post.id,
    ]);
    const res = await call(t, 'PATCH', `/posts/${post.id}`, { variants: [text('v2')] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ contentVersion: 2, approvalState: 'pending', approvalDecidedAt: null });
    // The scheduled target's plan changed (a claim made on the old approval cannot succeed).
    expect(await targetRow(post.targets[0].id)).toMatchObject({ status: 'scheduled', schedule_version: 1 });
    expect(res.json().variants).toMatchObject([{ platform: 'default', caption: 'v2' }]);
    // Turning approval off clears the state.
    const off = await call(t, 'PATCH', `/posts/${post.id}`, { requiresApproval: false });
    expect(off.json()).toMatchObject({ requiresApproval: false, approvalState: 'not_required', contentVersion: 2 });
  });

  it("re-checks new variants against the scheduled targets' platforms", async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const post = await createPost(t, { variants: [text('short')], targets: [{ connectionId: x }] });
    await setTarget(post.targets[0].id, 'scheduled', inDays(2));
    const res = await call(t, 'PATCH', `/posts/${post.id}`, {
      variants: [text('ok', 'linkedin'), text('a'.repeat(281))],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.variants[1].caption' });
    expect(res.json().error.message).toMatch(/^x\.text_length: /);
    const after = (await call(t, 'GET', `/posts/${post.id}`)).json();
    expect(after).toMatchObject({ contentVersion: 1, variants: [{ caption: 'short' }] });
    // A draft-only post takes the same text (content is checked when it is scheduled).
    await setTarget(post.targets[0].id, 'draft');
    expect(
      (await call(t, 'PATCH', `/posts/${post.id}`, { variants: [text('a'.repeat(281))] })).json().contentVersion,
    ).toBe(2);
  });

  it('refuses edits and deletes while a target is being published', async () => {
    const t = await tenant();
    const x = await connection(t.ws, 'x');
    const post = await createPost(t, { variants: [text('going out')], targets: [{ connectionId: x }] });
    const targetId = post.targets[0].id;
    await setTarget(targetId, 'publishing', new Date().toISOString());
    for (const [method, path, payload] of [
      ['PATCH', `/posts/${post.id}`, { title: 'late edit' }],
      ['PATCH', `/posts/${post.id}`, { variants: [text('late')] }],
      ['DELETE', `/posts/${post.id}`, undefined],
      ['DELETE', `/posts/${post.id}/targets/${targetId}`, undefined],
      ['PATCH', `/posts/${post.id}/targets/${targetId}`, { dueAt: inDays(1) }],
    ] as const) {
      const res = await call(t, method, path, payload);
      expect(res.statusCode, `${method} ${path}`).toBe(409);
      expect(res.json().error.code).toBe('PUBLISH_IN_PROGRESS');
    }
    const unchanged = (await call(t, 'GET', `/posts/${post.id}`)).json();
    expect(unchanged).toMatchObject({ title: null, contentVersion: 1, targets: [{ status: 'publishing' }] });
    // Unschedule leaves a publishing target alone.
    await call(t, 'POST', `/posts/${post.id}/unschedule`);
    expect(await targetRow(targetId)).toMatchObject({ status: 'publishing' });

    await setTarget(targetId, 'published');
    expect(
      (await call(t, 'PATCH', `/posts/${post.id}/targets/${targetId}`, { dueAt: inDays(1) })).json().error.code,
    ).toBe('TARGET_NOT_SCHEDULED');
    expect((await call(t, 'DELETE', `/posts/${post.id}`)).statusCode).toBe(204);
  });
});

describe('calendar', () => {
  it('lists targets due or published in the range, in time order, with a short excerpt', async () => {
    const t = await tenant();
    const other = await tenant('other');
    const x = await connection(t.ws, 'x');
    const li = await connection(t.ws, 'linkedin');
    const base = Date.parse('2027-03-10T00:00:00.000Z');
    const at = (hours: number) => new Date(base + hours * 3600_000).toISOString();
    const long = `${'word '.repeat(60)}end`;
    const a = await createPost(t, {
      title: 'A',
      variants: [text(long), text('Only on X', 'x')],
      targets: [
        { connectionId: x, dueAt: at(5) },
        { connectionId: li, dueAt: at(2) },
      ],
    });
    const b = await createPost(t, { title: 'B', variants: [text('Published one')], targets: [{ connectionId: x }] });
    await sql(
      sys.orm,
      "update post_targets set status = 'published', published_at = ?, permalink = 'https://x.com/i/1' where id = ?",
      [at(3), b.targets[0].id],
    );
    await createPost(t, {
      title: 'Outside',
      variants: [text('later')],
      targets: [{ connectionId: li, dueAt: at(24 * 40) }],
    });
    const otherConn = await connection(other.ws, 'x');
    await createPost(other, {
      title: 'Theirs',
      variants: [text('x')],
      targets: [{ connectionId: otherConn, dueAt: at(4) }],
    });

    const res = await call(t, 'GET', `/calendar?from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(24))}`);
    expect(res.statusCode, res.body).toBe(200);
    const entries = res.json();
    expect(entries.map((e: { title: string; platform: string }) => `${e.title}/${e.platform}`)).toEqual([
      'A/linkedin',
      'B/x',
      'A/x',
    ]);
    expect(entries[0]).toMatchObject({
      postId: a.id,
      connectionId: li,
      status: 'draft',
      dueAt: at(2),
      publishedAt: null,
    });
    expect([...entries[0].excerpt].length).toBeLessThanOrEqual(140);
    expect(entries[0].excerpt).toMatch(/^word word .*…$/);
    expect(entries[1]).toMatchObject({
      status: 'published',
      publishedAt: at(3),
      permalink: 'https://x.com/i/1',
      excerpt: 'Published one',
    });
    expect(entries[2]).toMatchObject({ excerpt: 'Only on X', dueAt: at(5) });

    const narrow = await call(
      t,
      'GET',
      `/calendar?from=${encodeURIComponent(at(2.5))}&to=${encodeURIComponent(at(5))}`,
    );
    expect(narrow.json().map((e: { title: string }) => e.title)).toEqual(['B']);
  });

  it('requires a range of at most 92 days', async () => {
    const t = await tenant();
    const from = '2027-01-01T00:00:00.000Z';
    const tooLong = await call(t, 'GET', `/calendar?from=${from}&to=2027-04-03T00:00:01.000Z`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.field).toBe('querystring.to');
    expect((await call(t, 'GET', `/calendar?from=${from}&to=2027-04-03T00:00:00.000Z`)).statusCode).toBe(200);
    expect((await call(t, 'GET', `/calendar?from=${from}&to=${from}`)).statusCode).toBe(400);
    expect((await call(t, 'GET', `/calendar?from=${from}`)).json().error.field).toBe('querystring.to');
  });
});
