import type { ApiToken, Invitation, User, Workspace } from '../db/entities/index.ts';
import type { Role } from '../domain/roles.ts';

// Entity → response shapes. Response schemas also strip anything not listed, so hashes never leave.

export const userView = (u: User) => ({ id: u.id, email: u.email, name: u.name, createdAt: u.createdAt.toISOString() });

export const tokenView = (t: ApiToken) => ({
  id: t.id,
  name: t.name,
  hint: t.hint,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

export const workspaceView = (w: Workspace, role: Role) => ({
  id: w.id,
  name: w.name,
  role,
  createdAt: w.createdAt.toISOString(),
});

export const invitationView = (i: Invitation) => ({
  id: i.id,
  workspaceId: i.workspace,
  email: i.email,
  role: i.role,
  status: i.status,
  invitedBy: i.invitedBy ?? null,
  acceptedBy: i.acceptedBy ?? null,
  createdAt: i.createdAt.toISOString(),
  expiresAt: i.expiresAt.toISOString(),
  decidedAt: i.decidedAt?.toISOString() ?? null,
});
