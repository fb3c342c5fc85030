import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestSystem, createWorkspace, sendInvitation, signUp, sql, type TestSystem } from '../helpers.ts';

let sys: TestSystem;
beforeAll(async () => {
  sys = await createTestSystem();
  await sys.startWorker();
});
afterAll(() => sys.close());

/** Invites `email` into the workspace and accepts it as `invitee`. */
async function join(
  workspaceId: string,
  inviterToken: string,
  invitee: { email: string; token: string },
  role: string,
) {
  const invite = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/invitations`,
    headers: bearer(inviterToken),
    payload: { email: invitee.email, role },
  });
  expect(invite.statusCode).toBe(201);
  const accept = await sys.app.inject({
    method: 'POST',
    url: '/v1/invitations/accept',
    headers: bearer(invitee.token),
    payload: { token: invite.json().token },
  });
  expect(accept.json()).toMatchObject({ workspaceId, role });
}

const patchRole = (ws: string, token: string, userId: string, role: string) =>
  sys.app.inject({
    method: 'PATCH',
    url: `/v1/workspaces/${ws}/members/${userId}`,
    headers: bearer(token),
    payload: { role },
  });
const remove = (ws: string, token: string, userId: string) =>
  sys.app.inject({ method: 'DELETE', url: `/v1/workspaces/${ws}/members/${userId}`, headers: bearer(token) });

describe('workspace roles', () => {
  it('makes the creator owner and lists only the caller’s workspaces', async () => {
    const owner = await signUp(sys.app, 'owner');
    const other = await signUp(sys.app, 'other');
    const ws = await createWorkspace(sys.app, owner.token, 'Mine');
    await createWorkspace(sys.app, other.token, 'Theirs');
    const list = await sys.app.inject({ method: 'GET', url: '/v1/workspaces', headers: bearer(owner.token) });
    expect(list.json()).toEqual([expect.objectContaining({ id: ws, name: 'Mine', role: 'owner' })]);
  });

  it('lets a member read but not invite, rename or remove', async () => {
    const owner = await signUp(sys.app, 'owner');
    const member = await signUp(sys.app, 'member');
    const ws = await createWorkspace(sys.app, owner.token);
    await join(ws, owner.token, member, 'member');

    expect(
      (
        await sys.app.inject({ method: 'GET', url: `/v1/workspaces/${ws}/members`, headers: bearer(member.token) })
      ).json(),
    ).toHaveLength(2);
    const invite = await sendInvitation(sys.app, member.token, ws, 'someone@example.com', 'member');
    expect(invite.statusCode).toBe(403);
    expect(invite.json().error.code).toBe('FORBIDDEN');
    expect(
      (
        await sys.app.inject({
          method: 'PATCH',
          url: `/v1/workspaces/${ws}`,
          headers: bearer(member.token),
          payload: { name: 'x' },
        })
      ).statusCode,
    ).toBe(403);
    expect((await remove(ws, member.token, owner.id)).statusCode).toBe(403);
    expect((await patchRole(ws, member.token, member.id, 'admin')).statusCode).toBe(403);
  });

  it('lets an admin invite members and admins but not owners, and not touch owners', async () => {
    const owner = await signUp(sys.app, 'owner');
    const admin = await signUp(sys.app, 'admin');
    const ws = await createWorkspace(sys.app, owner.token);
    await join(ws, owner.token, admin, 'admin');
    const asOwner = await sendInvitation(sys.app, admin.token, ws, 'boss@example.com', 'owner');
    expect(asOwner.statusCode).toBe(403);
    expect((await patchRole(ws, admin.token, owner.id, 'member')).statusCode).toBe(403);
    expect((await remove(ws, admin.token, owner.id)).statusCode).toBe(403);
  });

  it('never leaves a workspace without an owner', async () => {
    const owner = await signUp(sys.app, 'owner');
    const second = await signUp(sys.app, 'second');
    const ws = await createWorkspace(sys.app, owner.token);

    const leave = await remove(ws, owner.token, owner.id);
    expect(leave.statusCode).toBe(409);
    expect(leave.json().error.code).toBe('LAST_OWNER');
    const demote = await patchRole(ws, owner.token, owner.id, 'admin');
    expect(demote.statusCode).toBe(409);

    await join(ws, owner.token, second, 'member');
    expect((await patchRole(ws, owner.token, second.id, 'owner')).json()).toEqual({ userId: second.id, role: 'owner' });
    // With two owners, one may leave; the remaining one then may not.
    expect((await remove(ws, owner.token, owner.id)).statusCode).toBe(204);
    expect((await remove(ws, second.token, second.id)).json().error.code).toBe('LAST_OWNER');
    // The one who left no longer sees the workspace.
    expect(
      (await sys.app.inject({ method: 'GET', url: `/v1/workspaces/${ws}`, headers: bearer(owner.token) })).statusCode,
    ).toBe(404);

    const audit = await sql<{ action: string }>(
      sys.orm,
      'select action from audit_events where workspace_id = ? order by id',
      [ws],
    );
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'workspace.created',
        'invitation.created',
        'invitation.accepted',
        'member.role_changed',
        'member.left',
      ]),
    );
  });
});
