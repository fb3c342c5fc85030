import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_IP_LIMIT } from '../../api/routes/approvals.ts';
import { sha256 } from '../../lib/secrets.ts';
import { PUBLISH_WORKFLOW_TYPE, publishWorkflowId } from '../../workflows/publish.messages.ts';
import { bearer, createTestSystem, createWorkspace, signUp, sql, type TestSystem } from '../helpers.ts';

// Client approval links: the team side (make, list, revoke) and the public side (preview, decide),
// including expiry, revocation, password throttling and the guarantee that a link reaches only its
// own post. Posts are written by SQL so this file does not depend on the posts API.

let sys: TestSystem;
beforeAll(async () => {
  // A long first delay, so "must wait" is certain however slow the machine; lockout after 6 failures.
  sys = await createTestSystem({
    LOGIN_FREE_ATTEMPTS: '3',
    LOGIN_BASE_DELAY_MS: '60000',
    LOGIN_MAX_DELAY_MS: '600000',
    LOGIN_LOCKOUT_THRESHOLD: '6',
    LOGIN_LOCKOUT_MINUTES: '15',
  });
});
afterAll(() => sys.close());

/** Public calls come from a fresh address each, so the per-IP limit only matters where a test wants it. */
const randomIp = () => `10.${(Math.random() * 250) | 0}.${(Math.random() * 250) | 0}.${(Math.random() * 250) | 0}`;

const preview = (token: string, headers: Record<string, string> = {}, ip = randomIp()) =>
  sys.app.inject({ method: 'GET', url: `/v1/approvals/${token}`, headers, remoteAddress: ip });
const decide = (token: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  sys.app.inject({
    method: 'POST',
    url: `/v1/approvals/${token}/decision`,
    headers,
    payload,
    remoteAddress: randomIp(),
  });

async function team() {
  const owner = await signUp(sys.app, 'approvals');
  const workspaceId = await createWorkspace(sys.app, owner.token, 'Agency');
  return { owner, workspaceId };
}

async function makePost(
  workspaceId: string,
  opts: { title?: string; caption?: string; state?: string; media?: unknown[] } = {},
): Promise<string> {
  const id = randomUUID();
  const state = opts.state ?? 'not_required';
  await sql(
    sys.orm,
    `insert into posts (id, workspace_id, title, requires_approval, approval_state, content_version, position, created_at, updated_at)
       values (?, ?, ?, ?, ?, 1, 0, now(), now())`,
    [id, workspaceId, opts.title ?? 'Launch post', state !== 'not_required', state],
  );
  await sql(
    sys.orm,
    `insert into post_variants (id, workspace_id, post_id, platform, caption, media, options, updated_at)
       values (?, ?, ?, 'default', ?, ?::jsonb, '{}'::jsonb, now())`,
    [randomUUID(), workspaceId, id, opts.caption ?? 'Hello world', JSON.stringify(opts.media ?? [])],
  );
  return id;
}

async function makeTarget(workspaceId: string, postId: string, status: string) {
  const connectionId = randomUUID();
  const externalId = `ext-${randomUUID()}`;
  await sql(
    sys.orm,
    `insert into connections (id, workspace_id, platform, external_id, display_name, status, scopes, token_issued_at, created_at, updated_at)
       values (?, ?, 'x', ?, 'Client on X', 'disconnected', '[]', now(), now(), now())`,
    [connectionId, workspaceId, externalId],
  );
  const targetId = randomUUID();
  await sql(
    sys.orm,
    `insert into post_targets (id, workspace_id, post_id, connection_id, platform, due_at, status, schedule_version, created_at, updated_at)
       values (?, ?, ?, ?, 'x', now() + interval '2 days', ?, 1, now(), now())`,
    [targetId, workspaceId, postId, connectionId, status],
  );
  return { targetId, connectionId, externalId };
}

async function makeLink(
  token: string,
  workspaceId: string,
  postId: string,
  body: Record<string, unknown> = {},
): Promise<{ token: string; url: string; link: Record<string, unknown> & { id: string } }> {
  const res = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links`,
    headers: bearer(token),
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const postRow = async (id: string) =>
  (
    await sql<{
      approval_state: string;
      requires_approval: boolean;
      approval_feedback: string | null;
      decided: boolean;
    }>(
      sys.orm,
      'select approval_state, requires_approval, approval_feedback, approval_decided_at is not null as decided from posts where id = ?',
      [id],
    )
  )[0]!;
const linkRow = async (id: string) =>
  (
    await sql<{
      token_hash: string;
      password_hash: string | null;
      failed_attempts: number;
      /** Seconds the link stays locked (or waiting); null when it is not. */
      locked_for_s: number | null;
      used: boolean;
      revoked: boolean;
    }>(
      sys.orm,
      `select token_hash, password_hash, failed_attempts,
              case when locked_until > now() then extract(epoch from locked_until - now())::float8 end as locked_for_s,
              last_used_at is not null as used, revoked_at is not null as revoked
         from approval_links where id = ?`,
      [id],
    )
  )[0]!;

describe('approval links (team side)', () => {
  it('makes a link with a 256-bit token stored only as its SHA-256, and asks for approval', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    expect(await postRow(postId)).toMatchObject({ approval_state: 'not_required', requires_approval: false });

    const created = await makeLink(owner.token, workspaceId, postId);
    expect(created.token).toMatch(/^sba_[A-Za-z0-9_-]+$/);
    // At least 128 bits of randomness (it has 256).
    expect(Buffer.from(created.token.slice(4), 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(created.token.slice(4), 'base64url').length).toBe(32);
    expect(created.url).toBe(`${sys.config.publicUrl}/v1/approvals/${created.token}`);
    expect(created.link).toMatchObject({ postId, hasPassword: false, expired: false, revoked: false });

    const row = await linkRow(created.link.id);
    expect(row.token_hash).toBe(sha256(created.token));
    const stored = await sql<{ t: string }>(
      sys.orm,
      'select row_to_json(a)::text as t from approval_links a where id = ?',
      [created.link.id],
    );
    expect(stored[0]!.t).not.toContain(created.token);
    // The link asked for approval: the post now waits for it.
    expect(await postRow(postId)).toMatchObject({ requires_approval: true, approval_state: 'pending' });

    const audit = await sql<{ action: string }>(
      sys.orm,
      `select action from audit_events where target_id = ? and action = 'approval_link.created'`,
      [created.link.id],
    );
    expect(audit).toHaveLength(1);
  });

  it('lists links without tokens or hashes, says which have passwords, and revokes', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const open = await makeLink(owner.token, workspaceId, postId);
    const locked = await makeLink(owner.token, workspaceId, postId, {
      password: 'open sesame 42',
      expiresInSeconds: 3600,
    });
    expect(await linkRow(locked.link.id)).toMatchObject({ password_hash: expect.stringMatching(/^\$2[aby]\$/) });

    const list = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links`,
      headers: bearer(owner.token),
    });
    expect(list.statusCode).toBe(200);
    const byId = Object.fromEntries(list.json().map((l: { id: string }) => [l.id, l]));
    expect(byId[open.link.id]).toMatchObject({ hasPassword: false, revoked: false, expired: false });
    expect(byId[locked.link.id]).toMatchObject({ hasPassword: true, revoked: false, expired: false });
    // Its own expiry (1 h) is the one reported.
    const expiresIn = new Date(byId[locked.link.id].expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(30 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);
    for (const secret of [
      open.token,
      locked.token,
      sha256(open.token),
      'open sesame 42',
      'tokenHash',
      'passwordHash',
    ]) {
      expect(list.body).not.toContain(secret);
    }

    const revoke = await sys.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links/${open.link.id}`,
      headers: bearer(owner.token),
    });
    expect(revoke.statusCode).toBe(204);
    expect((await linkRow(open.link.id)).revoked).toBe(true);
    const after = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links`,
      headers: bearer(owner.token),
    });
    expect(after.json().find((l: { id: string }) => l.id === open.link.id)).toMatchObject({ revoked: true });
    const res = await preview(open.token);
    expect(res.statusCode).toBe(410);
    expect(res.json().error.code).toBe('LINK_EXPIRED');
    expect(
      await sql(sys.orm, `select 1 from audit_events where target_id = ? and action = 'approval_link.revoked'`, [
        open.link.id,
      ]),
    ).toHaveLength(1);
  });

  it('refuses bad passwords and lifetimes over 24 hours', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const send = (payload: Record<string, unknown>) =>
      sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links`,
        headers: bearer(owner.token),
        payload,
      });
    for (const [payload, field] of [
      [{ password: 'short' }, 'body.password'],
      // 40 characters, 80 bytes: bcrypt would silently ignore the end.
      [{ password: 'é'.repeat(40) }, 'body.password'],
      [{ expiresInSeconds: 24 * 3600 + 1 }, 'body.expiresInSeconds'],
    ] as const) {
      const res = await send(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.field).toBe(field);
    }
    expect(await sql(sys.orm, 'select 1 from approval_links where post_id = ?', [postId])).toHaveLength(0);
  });

  it('gives other tenants 404 and changes nothing of theirs', async () => {
    const a = await team();
    const b = await team();
    const postB = await makePost(b.workspaceId);
    const linkB = await makeLink(b.owner.token, b.workspaceId, postB);
    const calls = [
      // A in B's workspace.
      { method: 'POST', url: `/v1/workspaces/${b.workspaceId}/posts/${postB}/approval-links`, payload: {} },
      { method: 'GET', url: `/v1/workspaces/${b.workspaceId}/posts/${postB}/approval-links` },
      { method: 'DELETE', url: `/v1/workspaces/${b.workspaceId}/posts/${postB}/approval-links/${linkB.link.id}` },
      // A's own workspace with B's post and link.
      { method: 'POST', url: `/v1/workspaces/${a.workspaceId}/posts/${postB}/approval-links`, payload: {} },
      { method: 'GET', url: `/v1/workspaces/${a.workspaceId}/posts/${postB}/approval-links` },
      { method: 'DELETE', url: `/v1/workspaces/${a.workspaceId}/posts/${postB}/approval-links/${linkB.link.id}` },
    ] as const;
    for (const call of calls) {
      const res = await sys.app.inject({ ...call, headers: bearer(a.owner.token) });
      expect(res.statusCode, `${call.method} ${call.url}`).toBe(404);
    }
    expect(await sql(sys.orm, 'select id from approval_links where post_id = ?', [postB])).toHaveLength(1);
    expect((await linkRow(linkB.link.id)).revoked).toBe(false);
    expect((await preview(linkB.token)).statusCode).toBe(200);
  });
});

describe('approval links (public side)', () => {
  it('previews that post and nothing else', async () => {
    const { owner, workspaceId } = await team();
    const secretCaption = `other post ${randomUUID()}`;
    const mine = await makePost(workspaceId, {
      title: 'Spring launch',
      caption: 'Our spring collection is here',
      media: [
        {
          url: 'https://cdn.example.com/a.jpg',
          kind: 'image',
          mimeType: 'image/jpeg',
          sizeBytes: 1000,
          altText: 'A flower',
        },
      ],
    });
    const other = await makePost(workspaceId, { title: 'Secret plans', caption: secretCaption, state: 'pending' });
    const target = await makeTarget(workspaceId, mine, 'draft');
    const { token } = await makeLink(owner.token, workspaceId, mine);

    const res = await preview(token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const body = res.json();
    expect(body).toMatchObject({
      title: 'Spring launch',
      approvalState: 'pending',
      feedback: null,
      variants: [
        {
          platform: 'default',
          caption: 'Our spring collection is here',
          media: [{ url: 'https://cdn.example.com/a.jpg', kind: 'image', altText: 'A flower' }],
          options: {},
        },
      ],
      targets: [{ platform: 'x', status: 'draft', dueAt: expect.any(String) }],
    });
    // Nothing of the other post, and no ids, connection details or workspace.
    for (const hidden of [
      secretCaption,
      'Secret plans',
      other,
      mine,
      workspaceId,
      target.connectionId,
      target.externalId,
    ]) {
      expect(res.body).not.toContain(hidden);
    }
    expect(body.targets[0]).not.toHaveProperty('connectionId');

    // There is no way to name another post: extra path segments and query values change nothing.
    expect((await sys.app.inject({ method: 'GET', url: `/v1/approvals/${token}/${other}` })).statusCode).toBe(404);
    const withQuery = await sys.app.inject({ method: 'GET', url: `/v1/approvals/${token}?postId=${other}` });
    expect(withQuery.statusCode).toBe(200);
    expect(withQuery.body).not.toContain(secretCaption);

    // A decision through this link touches this post only.
    expect((await decide(token, { decision: 'reject', feedback: 'no' })).statusCode).toBe(200);
    expect((await postRow(mine)).approval_state).toBe('rejected');
    expect((await postRow(other)).approval_state).toBe('pending');
  });

  it('answers 404 for an unknown token', async () => {
    const res = await preview(`sba_${'A'.repeat(43)}`);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
    expect((await decide(`sba_${'A'.repeat(43)}`, { decision: 'approve' })).statusCode).toBe(404);
  });

  it('stays pending until a decision, then approve → approved', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const { token, link } = await makeLink(owner.token, workspaceId, postId);
    expect((await linkRow(link.id)).used).toBe(false);

    for (let i = 0; i < 2; i++) expect((await preview(token)).json().approvalState).toBe('pending');
    expect((await postRow(postId)).approval_state).toBe('pending');
    expect((await linkRow(link.id)).used).toBe(true);

    const res = await decide(token, { decision: 'approve', contentVersion: 1 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ approvalState: 'approved' });
    const row = await postRow(postId);
    expect(row).toMatchObject({ approval_state: 'approved', approval_feedback: null });
    expect(row.decided).toBe(true);
    expect((await preview(token)).json()).toMatchObject({ approvalState: 'approved', decidedAt: expect.any(String) });
    const [event] = await sql<{ actor_id: string | null; details: Record<string, unknown> }>(
      sys.orm,
      `select actor_id, details from audit_events where target_id = ? and action = 'approval.decided'`,
      [postId],
    );
    expect(event).toMatchObject({ actor_id: null, details: { linkId: link.id, approvalState: 'approved' } });
  });

  it('rejects with feedback, and a second decision is refused with 409', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const { token } = await makeLink(owner.token, workspaceId, postId);
    const feedback = `Please use the new logo ${randomUUID()}`;

    const res = await decide(token, { decision: 'reject', feedback });
    expect(res.json()).toEqual({ approvalState: 'rejected' });
    expect(await postRow(postId)).toMatchObject({ approval_state: 'rejected', approval_feedback: feedback });
    expect((await preview(token)).json()).toMatchObject({ approvalState: 'rejected', feedback });

    const again = await decide(token, { decision: 'approve' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('APPROVAL_DECIDED');
    expect((await postRow(postId)).approval_state).toBe('rejected');
    // The audit trail records the decision, not the client's words.
    const events = await sql<{ t: string }>(
      sys.orm,
      `select row_to_json(e)::text as t from audit_events e where target_id = ? and action = 'approval.decided'`,
      [postId],
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.t).not.toContain(feedback);
  });

  it('refuses a decision on content changed since the preview', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const { token } = await makeLink(owner.token, workspaceId, postId);
    await sql(sys.orm, 'update posts set content_version = 2 where id = ?', [postId]);
    const res = await decide(token, { decision: 'approve', contentVersion: 1 });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('CONTENT_CHANGED');
    expect((await postRow(postId)).approval_state).toBe('pending');
  });

  it('answers 410 for a link past its expiry, one older than 24 hours whatever it says, and a revoked one', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const expired = await makeLink(owner.token, workspaceId, postId);
    const old = await makeLink(owner.token, workspaceId, postId);
    const live = await makeLink(owner.token, workspaceId, postId);
    await sql(sys.orm, `update approval_links set expires_at = now() - interval '1 second' where id = ?`, [
      expired.link.id,
    ]);
    // The row claims another hour, but it was made 25 hours ago: the 24-hour rule wins.
    await sql(
      sys.orm,
      `update approval_links set created_at = now() - interval '25 hours', expires_at = now() + interval '1 hour' where id = ?`,
      [old.link.id],
    );
    for (const { token } of [expired, old]) {
      const res = await preview(token);
      expect(res.statusCode).toBe(410);
      expect(res.json().error.code).toBe('LINK_EXPIRED');
      const decision = await decide(token, { decision: 'approve' });
      expect(decision.statusCode).toBe(410);
      expect(decision.json().error.code).toBe('LINK_EXPIRED');
    }
    expect((await postRow(postId)).approval_state).toBe('pending');

    const list = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links`,
      headers: bearer(owner.token),
    });
    const byId = Object.fromEntries(list.json().map((l: { id: string }) => [l.id, l]));
    expect(byId[expired.link.id]).toMatchObject({ expired: true, revoked: false });
    expect(byId[old.link.id]).toMatchObject({ expired: true });
    expect(byId[live.link.id]).toMatchObject({ expired: false });

    await sys.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/posts/${postId}/approval-links/${live.link.id}`,
      headers: bearer(owner.token),
    });
    expect((await preview(live.token)).statusCode).toBe(410);
    expect((await decide(live.token, { decision: 'approve' })).statusCode).toBe(410);
    expect((await postRow(postId)).approval_state).toBe('pending');
  });

  it('needs the password, throttles wrong ones with a doubling wait, locks, and opens again after the lock', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId, { caption: 'Protected caption' });
    const password = 'open sesame 42';
    const { token, link } = await makeLink(owner.token, workspaceId, postId, { password });
    const withPassword = (p: string) => ({ 'x-link-password': p });

    const missing = await preview(token);
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe('LINK_PASSWORD_REQUIRED');
    expect(missing.body).not.toContain('Protected caption');
    const right = await preview(token, withPassword(password));
    expect(right.statusCode).toBe(200);
    expect(right.json().variants[0].caption).toBe('Protected caption');

    // Three free failures, a fourth that starts the forced wait, then refusals while it lasts.
    for (let i = 1; i <= 4; i++) {
      const res = await preview(token, withPassword(`wrong ${i}`));
      expect(res.statusCode, `attempt ${i}`).toBe(401);
      expect(res.json().error.code).toBe('INVALID_LINK_PASSWORD');
    }
    expect((await linkRow(link.id)).failed_attempts).toBe(4);
    const waiting = await preview(token, withPassword('wrong 5'));
    expect(waiting.statusCode).toBe(429);
    expect(waiting.json().error.code).toBe('LINK_THROTTLED');
    expect(Number(waiting.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(waiting.headers['retry-after'])).toBeLessThanOrEqual(60);
    // While it waits, even the right password (and a decision) is refused, and nothing is counted.
    expect((await preview(token, withPassword(password))).statusCode).toBe(429);
    expect((await decide(token, { decision: 'approve', password })).statusCode).toBe(429);
    expect((await linkRow(link.id)).failed_attempts).toBe(4);

    // The wait doubles: after it runs out, the next failure asks for twice as long.
    await sql(sys.orm, `update approval_links set locked_until = now() - interval '1 second' where id = ?`, [link.id]);
    expect((await preview(token, withPassword('wrong 5'))).statusCode).toBe(401);
    const doubled = await preview(token, withPassword('wrong 6'));
    expect(doubled.statusCode).toBe(429);
    expect(Number(doubled.headers['retry-after'])).toBeGreaterThan(60);
    expect(Number(doubled.headers['retry-after'])).toBeLessThanOrEqual(120);

    // The sixth failure locks the link for the lockout period.
    await sql(sys.orm, `update approval_links set locked_until = now() - interval '1 second' where id = ?`, [link.id]);
    const locking = await preview(token, withPassword('wrong 6'));
    expect(locking.statusCode).toBe(429);
    expect(locking.json().error.code).toBe('LINK_LOCKED');
    expect(Number(locking.headers['retry-after'])).toBe(15 * 60);
    expect((await linkRow(link.id)).locked_for_s).toBeGreaterThan(14 * 60);
    const stillLocked = await preview(token, withPassword(password));
    expect(stillLocked.statusCode).toBe(429);
    expect(stillLocked.json().error.code).toBe('LINK_LOCKED');
    expect(
      await sql(sys.orm, `select 1 from audit_events where target_id = ? and action = 'approval_link.throttled'`, [
        link.id,
      ]),
    ).toHaveLength(1);

    // Once the lock has run out, the right password works and clears the count.
    await sql(sys.orm, `update approval_links set locked_until = now() - interval '1 second' where id = ?`, [link.id]);
    const opened = await preview(token, withPassword(password));
    expect(opened.statusCode, opened.body).toBe(200);
    expect(await linkRow(link.id)).toMatchObject({ failed_attempts: 0, locked_for_s: null });
    const decided = await decide(token, { decision: 'approve', password });
    expect(decided.json()).toEqual({ approvalState: 'approved' });
  });

  it('counts parallel guesses before checking them, so they cannot get past the throttle', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const { token, link } = await makeLink(owner.token, workspaceId, postId, { password: 'open sesame 42' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => preview(token, { 'x-link-password': `guess ${i}` })),
    );
    const codes = results.map((r) => r.statusCode).sort();
    // Three free failures and the one that starts the wait are checked; the rest wait.
    expect(codes).toEqual([401, 401, 401, 401, 429, 429, 429, 429]);
    expect((await linkRow(link.id)).failed_attempts).toBe(4);
  });

  it('renders an escaped HTML page without scripts', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId, {
      title: '<img src=x onerror=alert(1)>',
      caption: '<script>alert("pwned")</script> & more',
      media: [
        {
          url: 'javascript:alert(2)',
          kind: 'image',
          mimeType: 'image/png',
          sizeBytes: 1,
          altText: '"><script>alert(3)</script>',
        },
      ],
    });
    const { token } = await makeLink(owner.token, workspaceId, postId);
    const res = await preview(token, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; more');
    expect(res.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(res.body).not.toMatch(/<script/i);
    expect(res.body).not.toMatch(/<img/i);
    expect(res.body).not.toContain('href="javascript:');
    // JSON stays the default for API clients.
    expect((await preview(token)).headers['content-type']).toMatch(/^application\/json/);
  });

  it('tells the publish workflows of scheduled targets once the decision is committed', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const { targetId } = await makeTarget(workspaceId, postId, 'awaiting_approval');
    const { token } = await makeLink(owner.token, workspaceId, postId);
    // A stand-in for the target's workflow, on a queue nobody polls: it stays running and records signals.
    const client = sys.app.deps.temporal;
    const handle = await client.workflow.start(PUBLISH_WORKFLOW_TYPE, {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: publishWorkflowId(targetId),
      args: [{ targetId, workspaceId, platform: 'x' }],
    });
    try {
      expect((await decide(token, { decision: 'approve' })).json()).toEqual({ approvalState: 'approved' });
      const history = await handle.fetchHistory();
      const signals = (history.events ?? [])
        .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName)
        .filter(Boolean);
      expect(signals).toEqual(['approvalDecided']);
    } finally {
      await handle.terminate('test cleanup');
      await sql(sys.orm, `update post_targets set status = 'cancelled' where id = ?`, [targetId]);
    }
  });

  it('limits requests per address a little', async () => {
    const ip = randomIp();
    const token = `sba_${'B'.repeat(43)}`;
    for (let i = 0; i < LINK_IP_LIMIT; i++) expect((await preview(token, {}, ip)).statusCode).toBe(404);
    const limited = await preview(token, {}, ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Other addresses are not affected.
    expect((await preview(token, {}, randomIp())).statusCode).toBe(404);
  });

  it('keeps the token out of the stored request log', async () => {
    const { owner, workspaceId } = await team();
    const postId = await makePost(workspaceId);
    const { token } = await makeLink(owner.token, workspaceId, postId);
    const ip = randomIp();
    expect((await preview(token, {}, ip)).statusCode).toBe(200);
    await sys.app.flushRequestLog();
    const rows = await sql<{ path: string }>(sys.orm, 'select path from request_logs where ip = ?', [ip]);
    expect(rows.map((r) => r.path)).toEqual(['/v1/approvals/[redacted]']);
  });
});
