// Workspace roles and the rules between them; pure so the API and activities share one truth.

export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

const rank: Record<Role, number> = { member: 1, admin: 2, owner: 3 };

export function atLeast(role: Role, minimum: Role): boolean {
  return rank[role] >= rank[minimum];
}

/** Admins may invite members and admins; only owners may invite owners. */
export function canInvite(actor: Role, invited: Role): boolean {
  return atLeast(actor, 'admin') && (invited !== 'owner' || actor === 'owner');
}

/**
 * Whether `actor` may change `target`'s role from `from` to `to`. Owners may change anyone;
 * admins may move people between member and admin only.
 */
export function canChangeRole(actor: Role, from: Role, to: Role): boolean {
  if (actor === 'owner') return true;
  if (actor === 'admin') return from !== 'owner' && to !== 'owner';
  return false;
}

/** Whether `actor` may remove a member with role `target` (leaving is always allowed, subject to the last-owner rule). */
export function canRemove(actor: Role, target: Role): boolean {
  if (actor === 'owner') return true;
  if (actor === 'admin') return target !== 'owner';
  return false;
}
