import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WriteRecord } from '../../simulators/core.ts';
import { publishWorkflowId } from '../../workflows/publish.messages.ts';
import { bearer, eventually, recordHistory, simulatedSystem, sql } from '../helpers.ts';
import { admin } from '../platforms/contract.ts';
import {
  connect,
  schedule as scheduleTarget,
  seedPost,
  type TargetRow,
  targetRow,
  type Workspace,
  workspace,
} from './publish-support.ts';

// The publishing lifecycle through the API with a real worker and the X simulator: an edit after
// scheduling publishes the edited text, a delete before due publishes nothing, a reschedule moves
// the publish time, and approval holds a post until the client decides.

const t = simulatedSystem();
let ws: Workspace;
let connectionId: string;

beforeAll(async () => {
  ws = await workspace(t.sys);
  connectionId = (await connect(t.sys, ws, 'x')).id;
}, 60_000);

const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
  t.sys.app.inject({
    method,
    url: `/v1/workspaces/${ws.workspaceId}${url}`,
    headers: bearer(ws.token),
    ...(payload ? { payload } : {}),
  });

const tweets = async () =>
  (await admin<WriteRecord[]>(t.sim, 'GET', '/x/writes?route=publish')).map((w) => String(w.data.text));

async function createPost(caption: string, extra: object = {}) {
  const res = await api('POST', '/posts', {
    variants: [{ platform: 'default', caption, media: [] }],
    targets: [{ connectionId }],
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  const post = res.json();
  return { postId: post.id as string, targetId: post.targets[0].id as string };
}

async function schedule(postId: string, dueAt: Date) {
  const res = await api('POST', `/posts/${postId}/schedule`, { dueAt: dueAt.toISOString() });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().workflow).toBe('started');
  return res.json();
}

async function finalRow(targetId: string, timeoutMs = 30_000): Promise<TargetRow> {
  const row = await eventually(async () => {
    const r = await targetRow(t.sys, targetId);
    return r && ['published', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
  }, timeoutMs);
  return row as TargetRow;
}

const unique = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

describe('publishing through the API', () => {
  it('an edit after scheduling publishes the edited content', async () => {
    const original = unique('original');
    const edited = unique('edited');
    const { postId, targetId } = await createPost(original);
    // 10 s lead: the edit must land before the due time even on a loaded machine.
    await schedule(postId, new Date(Date.now() + 10_000));
    const patched = await api('PATCH', `/posts/${postId}`, {
      variants: [{ platform: 'default', caption: edited, media: [] }],
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().contentVersion).toBe(2);

    const row = await finalRow(targetId);
    expect(row.status).toBe('published');
    const sent = await tweets();
    expect(sent).toContain(edited);
    expect(sent).not.toContain(original);
    const [target] = await sql<{ published_content_version: number }>(
      t.sys.orm,
      'select published_content_version from post_targets where id = ?',
      [targetId],
    );
    expect(target?.published_content_version).toBe(2);
    await recordHistory(t.client, publishWorkflowId(targetId), 'publishWorkflow', 'edited-after-schedule');
  });

  it('a delete before due publishes nothing and ends the workflow', async () => {
    const caption = unique('deleted');
    const { postId, targetId } = await createPost(caption);
    // 10 s lead: the delete must land before the due time even on a loaded machine.
    const due = Date.now() + 10_000;
    await schedule(postId, new Date(due));
    const before = (await tweets()).length;
    expect((await api('DELETE', `/posts/${postId}`)).statusCode).toBe(204);

    const result = await t.client.workflow.getHandle(publishWorkflowId(targetId)).result();
    expect(result.status).toBe('cancelled');
    // Past the old due time: the simulator received nothing.
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 1_000));
    expect((await tweets()).length).toBe(before);
    expect(await tweets()).not.toContain(caption);
    expect(await targetRow(t.sys, targetId)).toBeUndefined();
    await recordHistory(t.client, publishWorkflowId(targetId), 'publishWorkflow', 'deleted-before-due');
  });

  it('a reschedule moves the publish time', async () => {
    const caption = unique('moved');
    const { postId, targetId } = await createPost(caption);
    const far = new Date(Date.now() + 10 * 60_000);
    await schedule(postId, far);
    const status = await api('GET', `/posts/${postId}/targets/${targetId}`);
    expect(status.json()).toMatchObject({ status: 'scheduled', dueAt: far.toISOString() });

    const soon = new Date(Date.now() + 1_500);
    const moved = await api('PATCH', `/posts/${postId}/targets/${targetId}`, { dueAt: soon.toISOString() });
    expect(moved.statusCode, moved.body).toBe(200);
    const row = await finalRow(targetId);
    expect(row.status).toBe('published');
    const publishedAt = new Date(row.published_at as Date).getTime();
    expect(publishedAt).toBeGreaterThanOrEqual(soon.getTime() - 1_000);
    expect(publishedAt).toBeLessThan(far.getTime());
    expect(await tweets()).toContain(caption);
    await recordHistory(t.client, publishWorkflowId(targetId), 'publishWorkflow', 'rescheduled');
  });

  it('unschedule ends the workflow, publish-now brings it back at once', async () => {
    const caption = unique('unscheduled');
    const { postId, targetId } = await createPost(caption);
    await schedule(postId, new Date(Date.now() + 10 * 60_000));
    const un = await api('POST', `/posts/${postId}/unschedule`);
    expect(un.statusCode, un.body).toBe(200);
    expect((await t.client.workflow.getHandle(publishWorkflowId(targetId)).result()).status).toBe('cancelled');
    expect((await targetRow(t.sys, targetId))?.status).toBe('draft');

    const now = await api('POST', `/posts/${postId}/publish-now`);
    expect(now.statusCode, now.body).toBe(200);
    expect((await finalRow(targetId)).status).toBe('published');
    expect((await tweets()).filter((t) => t === caption)).toHaveLength(1);
  });
});

describe('approval', () => {
  async function approvalPost(caption: string) {
    const post = await createPost(caption, { requiresApproval: true });
    const link = await api('POST', `/posts/${post.postId}/approval-links`, {});
    expect(link.statusCode, link.body).toBe(201);
    return { ...post, token: link.json().token as string };
  }
  const decide = (token: string, decision: 'approve' | 'reject', feedback?: string) =>
    t.sys.app.inject({ method: 'POST', url: `/v1/approvals/${token}/decision`, payload: { decision, feedback } });

  it('stays pending past its due time until approved, then publishes once', async () => {
    const caption = unique('approved');
    const { postId, targetId, token } = await approvalPost(caption);
    await schedule(postId, new Date(Date.now() + 500));
    await eventually(async () => (await targetRow(t.sys, targetId))?.status === 'awaiting_approval');
    const handle = t.client.workflow.getHandle(publishWorkflowId(targetId));
    expect((await handle.query('state')) as { status: string }).toMatchObject({ status: 'awaiting_approval' });
    expect(await tweets()).not.toContain(caption);

    const decided = await decide(token, 'approve');
    expect(decided.statusCode, decided.body).toBe(200);
    expect((await finalRow(targetId)).status).toBe('published');
    expect((await tweets()).filter((t) => t === caption)).toHaveLength(1);
    await recordHistory(t.client, publishWorkflowId(targetId), 'publishWorkflow', 'approved');
  });

  it('rejected is never published', async () => {
    const caption = unique('rejected');
    const { postId, targetId, token } = await approvalPost(caption);
    await schedule(postId, new Date(Date.now() + 500));
    await eventually(async () => (await targetRow(t.sys, targetId))?.status === 'awaiting_approval');
    expect((await decide(token, 'reject', 'not this one')).statusCode).toBe(200);

    const row = await finalRow(targetId);
    expect(row.status).toBe('cancelled');
    expect(row.status_reason).toBe('rejected');
    expect(await tweets()).not.toContain(caption);
    await recordHistory(t.client, publishWorkflowId(targetId), 'publishWorkflow', 'rejected');
  });
});

describe('token trouble goes to the connection workflow', () => {
  it('an expired token is refreshed by the connection workflow and the post goes out', async () => {
    const caption = unique('refreshed');
    const { postId, targetId } = await createPost(caption);
    await admin(t.sim, 'POST', '/x/tokens/expire', {});
    const refreshesBefore = (await admin<unknown[]>(t.sim, 'GET', '/x/calls?route=token')).length;
    await schedule(postId, new Date());
    expect((await finalRow(targetId)).status).toBe('published');
    expect((await admin<unknown[]>(t.sim, 'GET', '/x/calls?route=token')).length).toBeGreaterThan(refreshesBefore);
    expect((await tweets()).filter((t) => t === caption)).toHaveLength(1);
  });

  it('a revoked grant: the connection needs a reconnect and the post fails with that reason', async () => {
    const caption = unique('revoked');
    const post = await seedPost(t.sys, ws, connectionId, 'x', { caption, media: [], options: {} });
    await admin(t.sim, 'POST', '/x/grants/revoke', {});
    await admin(t.sim, 'POST', '/x/tokens/expire', {});
    await scheduleTarget(t.client, t.sys.config.taskQueues.core, ws, post.targetId, 'x');
    const row = await finalRow(post.targetId);
    expect(row).toMatchObject({ status: 'failed', status_reason: expect.stringMatching(/^needs_reconnect/) });
    const [conn] = await sql<{ status: string }>(t.sys.orm, 'select status from connections where id = ?', [
      connectionId,
    ]);
    expect(conn?.status).toBe('needs_reconnect');
    expect(await tweets()).not.toContain(caption);
    await recordHistory(t.client, publishWorkflowId(post.targetId), 'publishWorkflow', 'needs-reconnect');
  });
});
