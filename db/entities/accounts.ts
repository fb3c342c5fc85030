import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

// Accounts and their credentials. Only hashes of secrets are stored (see lib/secrets.ts).

export const INSTANCE_ROLES = ['compliance'] as const;

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    /** Lower-cased; personal data. */
    email: p.string().length(254).unique(),
    name: p.string().length(200),
    /** bcrypt; null for accounts that only sign in with Google. */
    passwordHash: p.string().length(100).nullable(),
    /** Instance-wide role beyond workspaces: compliance staff see every deletion request. */
    instanceRole: p.enum(INSTANCE_ROLES).nullable(),
    /** Set while the account waits out its deletion grace: sign-in refuses it and sessions are gone. */
    pendingDeletionId: p.uuid().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type User = InferEntity<typeof User>;

export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).mapToPk().deleteRule('cascade').index(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  },
});
export type Session = InferEntity<typeof Session>;

export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).mapToPk().deleteRule('cascade').index(),
    name: p.string().length(100),
    tokenHash: p.string().length(64).unique(),
    /** First characters of the token, so people can tell their tokens apart. */
    hint: p.string().length(12),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type ApiToken = InferEntity<typeof ApiToken>;

/** Failed sign-in counters, keyed by a hash of the e-mail address or of the client IP. */
export const LoginThrottle = defineEntity({
  name: 'LoginThrottle',
  tableName: 'login_throttles',
  properties: {
    key: p.string().length(80).primary(),
    failures: p.integer().default(0),
    windowStartedAt: p.datetime(),
    nextAllowedAt: p.datetime().nullable(),
    lockedUntil: p.datetime().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type LoginThrottle = InferEntity<typeof LoginThrottle>;
