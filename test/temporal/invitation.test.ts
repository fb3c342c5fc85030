import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DueAt, ProcessKind, ProcessState, WorkspaceId } from '../../domain/search-attributes.ts';
import { lazyClient } from '../../lib/temporal.ts';
import { freePort } from '../../lib/temporal-cli.ts';
import { invitationStateQuery, invitationWorkflowId } from '../../workflows/invitation.messages.ts';
import {
  bearer,
  createTestSystem,
  createWorkspace,
  eventually,
  historyText,
  sendInvitation,
  signUp,
  sql,
  type TestSystem,
  uniqueEmail,
} from '../helpers.ts';

let sys: TestSystem;
let client: Client;
beforeAll(async () => {
  sys = await createTestSystem();
  await sys.startWorker();
  client = lazyClient(sys.config).client;
});
afterAll(async () => {
  await client.connection.close();
  await sys.close();
});

async function invite(expiresInSeconds?: number) {
  const owner = await signUp(sys.app, 'owner');
  const invitee = await signUp(sys.app, 'invitee');
  const workspaceId = await createWorkspace(sys.app, owner.token);
  const res = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/invitations`,
    headers: bearer(owner.token),
    payload: { email: invitee.email, role: 'member', ...(expiresInSeconds ? { expiresInSeconds } : {}) },
  });
  expect(res.statusCode).toBe(201);
  const { invitation, token } = res.json();
  return { owner, invitee, workspaceId, invitationId: invitation.id as string, token: token as string };
}

const accept = (userToken: string, token: string) =>
  sys.app.inject({ method: 'POST', url: '/v1/invitations/accept', headers: bearer(userToken), payload: { token } });

const status = async (workspaceId: string, invitationId: string, token: string) =>
  (
    await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${workspaceId}/invitations/${invitationId}`,
      headers: bearer(token),
    })
  ).json().status;

/** Histories hold ids only: the invitee's address and the token must never appear. */
async function assertHistoryClean(invitationId: string, secrets: string[], scenario: string) {
  const history = await client.workflow.getHandle(invitationWorkflowId(invitationId)).fetchHistory();
  const json = historyToJSON(history);
  const text = historyText(json);
  for (const secret of secrets) expect(text).not.toContain(secret);
  if (process.env.RECORD_HISTORIES) {
    const dir = path.join(import.meta.dirname, '..', 'histories', 'invitationWorkflow');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${scenario}.json`), json);
  }
}

describe('invitation workflow', () => {
  it('is accepted: membership created, workflow completes, searchable in Temporal by workspace', async () => {
    const { owner, invitee, workspaceId, invitationId, token } = await invite();
    const handle = client.workflow.getHandle(invitationWorkflowId(invitationId));
    expect(await handle.query(invitationStateQuery)).toBe('pending');
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(WorkspaceId)).toBe(workspaceId);
    expect(described.typedSearchAttributes.get(ProcessKind)).toBe('invitation');
    expect(described.typedSearchAttributes.get(DueAt)).toBeInstanceOf(Date);

    const accepted = await accept(invitee.token, token);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toEqual({ workspaceId, role: 'member' });
    expect(await handle.result()).toEqual({ invitationId, outcome: 'accepted', userId: invitee.id });
    expect(await status(workspaceId, invitationId, owner.token)).toBe('accepted');
    expect((await handle.describe()).typedSearchAttributes.get(ProcessState)).toBe('accepted');

    // Accepting again is idempotent for the same account.
    const again = await accept(invitee.token, token);
    expect(again.json()).toEqual({ workspaceId, role: 'member' });

    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({
        query: `WorkspaceId = '${workspaceId}' AND ProcessKind = 'invitation'`,
      }))
        ids.push(wf.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(found).toEqual([invitationWorkflowId(invitationId)]);
    await assertHistoryClean(invitationId, [invitee.email, token], 'accepted');
  });

  it('expires after the expiry given as input; a late accept gets 410', async () => {
    const { owner, invitee, workspaceId, invitationId, token } = await invite(1);
    const result = await client.workflow.getHandle(invitationWorkflowId(invitationId)).result();
    expect(result).toEqual({ invitationId, outcome: 'expired' });
    expect(await status(workspaceId, invitationId, owner.token)).toBe('expired');
    const late = await accept(invitee.token, token);
    expect(late.statusCode).toBe(410);
    expect(late.json().error.code).toBe('INVITATION_EXPIRED');
    const members = await sql(sys.orm, 'select 1 from memberships where workspace_id = ? and user_id = ?', [
      workspaceId,
      invitee.id,
    ]);
    expect(members).toHaveLength(0);
    await assertHistoryClean(invitationId, [invitee.email, token], 'expired');
  });

  it('is revoked by an admin; the token then no longer works', async () => {
    const { owner, invitee, workspaceId, invitationId, token } = await invite();
    const revoke = await sys.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${workspaceId}/invitations/${invitationId}`,
      headers: bearer(owner.token),
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().status).toBe('revoked');
    expect(await client.workflow.getHandle(invitationWorkflowId(invitationId)).result()).toEqual({
      invitationId,
      outcome: 'revoked',
      userId: owner.id,
    });
    expect((await accept(invitee.token, token)).statusCode).toBe(409);
    await assertHistoryClean(invitationId, [invitee.email, token], 'revoked');
  });

  it('refuses an account whose address is not the invited one', async () => {
    const { token } = await invite();
    const stranger = await signUp(sys.app, 'stranger');
    const res = await accept(stranger.token, token);
    expect(res.statusCode).toBe(403);
  });

  it('is used up once its member has left, and void once its sender may no longer grant the role', async () => {
    const first = await invite();
    expect((await accept(first.invitee.token, first.token)).statusCode).toBe(200);
    await sys.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${first.workspaceId}/members/${first.invitee.id}`,
      headers: bearer(first.invitee.token),
    });
    const reused = await accept(first.invitee.token, first.token);
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error.code).toBe('INVITATION_NOT_PENDING');

    // An admin invites an admin, then is demoted to member before the invitation is accepted.
    const owner = await signUp(sys.app, 'owner');
    const admin = await signUp(sys.app, 'admin');
    const invitee = await signUp(sys.app, 'late');
    const workspaceId = await createWorkspace(sys.app, owner.token);
    const asAdmin = await sendInvitation(sys.app, owner.token, workspaceId, admin.email, 'admin');
    expect((await accept(admin.token, asAdmin.json().token)).statusCode).toBe(200);
    const byAdmin = await sendInvitation(sys.app, admin.token, workspaceId, invitee.email, 'admin');
    expect(byAdmin.statusCode).toBe(201);
    await sys.app.inject({
      method: 'PATCH',
      url: `/v1/workspaces/${workspaceId}/members/${admin.id}`,
      headers: bearer(owner.token),
      payload: { role: 'member' },
    });
    const res = await accept(invitee.token, byAdmin.json().token);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('INVITATION_NO_LONGER_VALID');
    expect(
      await sql(sys.orm, 'select 1 from memberships where workspace_id = ? and user_id = ?', [workspaceId, invitee.id]),
    ).toHaveLength(0);
  });

  it('answers 503 rather than hanging when no worker runs the workflow', async () => {
    const idle = await createTestSystem();
    try {
      const owner = await signUp(idle.app, 'owner');
      const invitee = await signUp(idle.app, 'invitee');
      const workspaceId = await createWorkspace(idle.app, owner.token);
      const created = await sendInvitation(idle.app, owner.token, workspaceId, invitee.email, 'member');
      expect(created.statusCode).toBe(201);
      const res = await idle.app.inject({
        method: 'POST',
        url: '/v1/invitations/accept',
        headers: bearer(invitee.token),
        payload: { token: created.json().token },
      });
      expect(res.statusCode).toBe(503);
      expect(
        await sql(idle.orm, 'select 1 from memberships where workspace_id = ? and user_id = ?', [
          workspaceId,
          invitee.id,
        ]),
      ).toHaveLength(0);
    } finally {
      await idle.close();
    }
  });

  it('creates nothing when Temporal is unavailable', async () => {
    const down = await createTestSystem({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    try {
      const owner = await signUp(down.app, 'owner');
      const workspaceId = await createWorkspace(down.app, owner.token);
      const res = await sendInvitation(down.app, owner.token, workspaceId, uniqueEmail(), 'member');
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('UNAVAILABLE');
      expect(await sql(down.orm, 'select 1 from invitations where workspace_id = ?', [workspaceId])).toHaveLength(0);
      expect(
        await sql(down.orm, "select 1 from audit_events where workspace_id = ? and action = 'invitation.created'", [
          workspaceId,
        ]),
      ).toHaveLength(0);
    } finally {
      await down.close();
    }
  });
});
