import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { PLATFORMS } from '../../platforms/types.ts';
import { User } from './accounts.ts';
import { Workspace } from './workspaces.ts';

// Connected platform accounts. Secrets live only in *_ciphertext columns (lib/vault.ts); everything
// else here is metadata the API may show.

export const OAUTH_PURPOSES = ['connect', 'sign_in'] as const;

/** One OAuth start: single use, short-lived, bound to the user (and workspace) that began it. */
export const OAuthState = defineEntity({
  name: 'OAuthState',
  tableName: 'oauth_states',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    purpose: p.enum(OAUTH_PURPOSES),
    /** SHA-256 of the state parameter; the state itself only travels through the browser. */
    stateHash: p.string().length(64).unique(),
    provider: p.string().length(16),
    user: () => p.manyToOne(User).mapToPk().deleteRule('cascade').nullable().index(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').nullable().index(),
    verifierCiphertext: p.text().nullable(),
    /** SHA-256 of the OIDC nonce (sign-in). */
    nonceHash: p.string().length(64).nullable(),
    /** The authorization code, kept encrypted until the connect workflow has exchanged it. */
    codeCiphertext: p.text().nullable(),
    /** Tokens from the exchange, kept until the profile is fetched, so a restart does not lose them. */
    tokensCiphertext: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    consumedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    connectionId: p.uuid().nullable(),
    errorCode: p.string().length(64).nullable(),
  },
});
export type OAuthState = InferEntity<typeof OAuthState>;

export const CONNECTION_STATUSES = ['active', 'needs_reconnect', 'disconnecting', 'disconnected'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];
export const REVOKE_OUTCOMES = ['revoked_upstream', 'deleted_locally_only', 'revoke_failed'] as const;
export type RevokeOutcome = (typeof REVOKE_OUTCOMES)[number];

export const Connection = defineEntity({
  name: 'Connection',
  tableName: 'connections',
  uniques: [{ properties: ['workspace', 'platform', 'externalId'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    platform: p.enum(PLATFORMS),
    /** The platform's id for the account (channel, page, open_id, URN, phone-number id). */
    externalId: p.string().length(200),
    displayName: p.string().length(200),
    handle: p.string().length(200).nullable(),
    /** Further platform ids (uploads playlist, WABA id, app-scoped id). */
    externalIds: p.json<Record<string, string>>().nullable(),
    status: p.enum(CONNECTION_STATUSES).default('active'),
    statusReason: p.string().length(300).nullable(),
    scopes: p.json<string[]>(),
    tokenExpiresAt: p.datetime().nullable(),
    refreshExpiresAt: p.datetime().nullable(),
    /** When the current access token was issued (Instagram and Threads refuse to refresh young ones). */
    tokenIssuedAt: p.datetime(),
    lastRefreshedAt: p.datetime().nullable(),
    connectedBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    disconnectedAt: p.datetime().nullable(),
    revokeOutcome: p.enum(REVOKE_OUTCOMES).nullable(),
    revokeDetail: p.string().length(300).nullable(),
  },
});
export type Connection = InferEntity<typeof Connection>;

/** The token set of a connection, one ciphertext so a rotation replaces it atomically. */
export const ConnectionTokens = defineEntity({
  name: 'ConnectionTokens',
  tableName: 'connection_tokens',
  properties: {
    connection: () => p.oneToOne(Connection).mapToPk().primary().deleteRule('cascade').owner(),
    ciphertext: p.text(),
    /** Key the ciphertext is under (also inside it), so rotation progress can be queried. */
    keyId: p.string().length(32).index(),
    /** Bumped on every write: a refresh only commits over the version it read. */
    version: p.integer().default(1),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type ConnectionTokens = InferEntity<typeof ConnectionTokens>;

/** In-app notices (needs-reconnect and the like), per workspace. */
export const Notice = defineEntity({
  name: 'Notice',
  tableName: 'notices',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade').nullable().index(),
    kind: p.string().length(64),
    message: p.string().length(500),
    createdAt: p.datetime().onCreate(() => new Date()),
    readAt: p.datetime().nullable(),
  },
});
export type Notice = InferEntity<typeof Notice>;

/** External sign-in identities (Google `sub`) linked to accounts. */
export const UserIdentity = defineEntity({
  name: 'UserIdentity',
  tableName: 'user_identities',
  uniques: [{ properties: ['provider', 'subject'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).mapToPk().deleteRule('cascade').index(),
    provider: p.string().length(16),
    subject: p.string().length(255),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type UserIdentity = InferEntity<typeof UserIdentity>;
