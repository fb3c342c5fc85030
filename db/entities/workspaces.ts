import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { ROLES } from '../../domain/roles.ts';
import { User } from './accounts.ts';

export const Workspace = defineEntity({
  name: 'Workspace',
  tableName: 'workspaces',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.string().length(100),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type Workspace = InferEntity<typeof Workspace>;

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  uniques: [{ properties: ['workspace', 'user'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    user: () => p.manyToOne(User).mapToPk().deleteRule('cascade').index(),
    role: p.enum(ROLES),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Membership = InferEntity<typeof Membership>;

export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    /** Lower-cased address the invitation was sent to; personal data. */
    email: p.string().length(254),
    role: p.enum(ROLES),
    tokenHash: p.string().length(64).unique(),
    status: p.enum(INVITATION_STATUSES).default('pending'),
    invitedBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    acceptedBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    decidedAt: p.datetime().nullable(),
  },
});
export type Invitation = InferEntity<typeof Invitation>;
