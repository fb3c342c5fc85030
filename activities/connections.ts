import { randomUUID } from 'node:crypto';
import { LockMode, type MikroORM } from '@mikro-orm/core';
import { ApplicationFailure } from '@temporalio/activity';
import { Connection, ConnectionTokens, Notice, OAuthState, type RevokeOutcome, User } from '../db/entities/index.ts';
import { defaultPolicy } from '../domain/policy.ts';
import { audit } from '../lib/audit.ts';
import type { Config } from '../lib/config.ts';
import type { Mailer } from '../lib/mailer.ts';
import { decryptSecret, openJson, sealJson } from '../lib/vault.ts';
import { PlatformError } from '../platforms/errors.ts';
import type { Adapters } from '../platforms/index.ts';
import type { PlatformId, PublishAccount, TokenSet } from '../platforms/types.ts';
import { beating } from './heartbeat.ts';
import { platformFailure } from './platform-failure.ts';

// Connection activities. Tokens are decrypted only here, used for one platform call, and written
// back encrypted; workflow inputs and results carry ids, enums and timestamps only.

export interface ConnectionDeps {
  orm: MikroORM;
  config: Config;
  adapters: Adapters;
  mailer: Mailer;
}

export const connectRedirectUri = (config: Config) => `${config.publicUrl}/v1/connections/callback`;
export const stateAad = (stateId: string, field: 'verifier' | 'code' | 'tokens') => `oauth_states:${stateId}:${field}`;
export const tokensAad = (connectionId: string) => `connection_tokens:${connectionId}`;

type StoredTokens = Omit<TokenSet, 'expiresAt' | 'refreshExpiresAt'> & {
  expiresAt?: string;
  refreshExpiresAt?: string;
};

function revive(stored: StoredTokens): TokenSet {
  return {
    ...stored,
    expiresAt: stored.expiresAt ? new Date(stored.expiresAt) : undefined,
    refreshExpiresAt: stored.refreshExpiresAt ? new Date(stored.refreshExpiresAt) : undefined,
  };
}

/** A connection's tokens for one platform call in another activity (publishing, sync). */
export async function readConnectionTokens(
  orm: MikroORM,
  config: Config,
  connectionId: string,
): Promise<TokenSet | undefined> {
  const row = await orm.em.fork().findOne(ConnectionTokens, { connection: connectionId });
  return row ? revive(openJson<StoredTokens>(config.keyRing, row.ciphertext, tokensAad(connectionId))) : undefined;
}

/** The account a platform call acts for: the connection's ids, no secrets. */
export const accountOf = (conn: Pick<Connection, 'externalId' | 'externalIds'>): PublishAccount => ({
  externalId: conn.externalId,
  ids: conn.externalIds ?? {},
});

export type RefreshOutcome =
  | { outcome: 'refreshed'; expiresAt: string | null }
  | { outcome: 'needs_reconnect'; reason: string }
  | { outcome: 'too_early'; refreshAt: string }
  | { outcome: 'not_supported' | 'skipped' };

export interface RefreshPlan {
  status: Connection['status'] | 'gone';
  /** When the connection workflow should refresh next; null: no timer needed. */
  refreshAt: string | null;
}

export function createConnectionActivities({ orm, config, adapters, mailer }: ConnectionDeps) {
  const ring = config.keyRing;
  const policy = defaultPolicy.connection;
  const em = () => orm.em.fork();

  async function loadState(stateId: string) {
    const state = await em().findOne(OAuthState, stateId);
    if (!state) throw ApplicationFailure.nonRetryable(`OAuth state ${stateId} not found`, 'OAuthStateNotFound');
    return state;
  }

  async function loadTokens(connectionId: string): Promise<{ tokens: TokenSet; version: number } | undefined> {
    const row = await em().findOne(ConnectionTokens, { connection: connectionId });
    if (!row) return undefined;
    return {
      tokens: revive(openJson<StoredTokens>(ring, row.ciphertext, tokensAad(connectionId))),
      version: row.version,
    };
  }

  /** Marks the connection as needing the user, with a notice and an e-mail; once per episode. */
  async function markNeedsReconnect(connectionId: string, reason: string): Promise<void> {
    let mailTo: { userId: string; email: string; name: string } | undefined;
    await em().transactional(async (tx) => {
      const conn = await tx.findOne(Connection, connectionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (conn?.status !== 'active') return;
      conn.status = 'needs_reconnect';
      conn.statusReason = reason.slice(0, 300);
      const adapter = adapters[conn.platform as PlatformId];
      tx.create(Notice, {
        workspace: conn.workspace,
        connection: conn.id,
        kind: 'connection.needs_reconnect',
        message: `${adapter.displayName} account "${conn.displayName}" needs to be reconnected: ${reason}`.slice(
          0,
          500,
        ),
      });
      audit(tx, {
        action: 'connection.needs_reconnect',
        workspaceId: conn.workspace,
        targetType: 'connection',
        targetId: conn.id,
        details: { platform: conn.platform },
      });
      const user = conn.connectedBy ? await tx.findOne(User, conn.connectedBy) : null;
      if (user) mailTo = { userId: user.id, email: user.email, name: conn.displayName };
    });
    if (mailTo) {
      await mailer.send({
        userId: mailTo.userId,
        to: mailTo.email,
        subject: `Reconnect "${mailTo.name}" in Switchboard`,
        text: `Switchboard can no longer reach "${mailTo.name}": ${reason}. Open Switchboard and connect it again.`,
      });
    }
  }

  return {
    /** Code → tokens, once: the tokens are stored (encrypted) on the OAuth state before anything else. */
    async exchangeConnectCode({ stateId }: { stateId: string }): Promise<void> {
      const state = await loadState(stateId);
      if (state.tokensCiphertext || state.completedAt) return;
      if (!state.codeCiphertext) throw ApplicationFailure.nonRetryable('no authorization code stored', 'permanent');
      const adapter = adapters[state.provider as PlatformId];
      const code = decryptSecret(ring, state.codeCiphertext, stateAad(stateId, 'code'));
      const codeVerifier = state.verifierCiphertext
        ? decryptSecret(ring, state.verifierCiphertext, stateAad(stateId, 'verifier'))
        : undefined;
      let tokens: TokenSet;
      try {
        tokens = await beating(() =>
          adapter.exchangeCode({ code, redirectUri: connectRedirectUri(config), codeVerifier }),
        );
      } catch (err) {
        // A refused code (spent, expired, wrong verifier) is final for this attempt at connecting.
        if (err instanceof PlatformError && err.kind === 'token_revoked') {
          throw ApplicationFailure.nonRetryable(err.message, 'exchange_refused');
        }
        platformFailure(err);
      }
      await em()
        .getConnection()
        .execute('update oauth_states set tokens_ciphertext = ?, code_ciphertext = null where id = ?', [
          sealJson(ring, tokens, stateAad(stateId, 'tokens')),
          stateId,
        ]);
    },

    /**
     * Profile → connection. Re-connecting the same platform account updates its connection and keeps
     * a working refresh token when the platform sends none this time.
     */
    async completeConnect({ stateId }: { stateId: string }): Promise<{ connectionId: string; reconnected: boolean }> {
      const state = await loadState(stateId);
      if (state.completedAt && state.connectionId) return { connectionId: state.connectionId, reconnected: false };
      if (!state.tokensCiphertext || !state.workspace) {
        throw ApplicationFailure.nonRetryable('no exchanged tokens stored', 'permanent');
      }
      const platform = state.provider as PlatformId;
      const tokens = revive(openJson<StoredTokens>(ring, state.tokensCiphertext, stateAad(stateId, 'tokens')));
      let profile: Awaited<ReturnType<Adapters[PlatformId]['profile']>>;
      try {
        profile = await beating(() => adapters[platform].profile(tokens));
      } catch (err) {
        platformFailure(err);
      }
      const workspaceId = state.workspace;
      return em().transactional(async (tx) => {
        const locked = await tx.findOne(OAuthState, stateId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (locked?.completedAt && locked.connectionId)
          return { connectionId: locked.connectionId, reconnected: false };
        let conn = await tx.findOne(
          Connection,
          { workspace: workspaceId, platform, externalId: profile.externalId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        const reconnected = Boolean(conn);
        let merged = tokens;
        if (conn) {
          const existing = await tx.findOne(ConnectionTokens, { connection: conn.id });
          if (existing && !tokens.refreshToken) {
            const old = openJson<StoredTokens>(ring, existing.ciphertext, tokensAad(conn.id));
            merged = { ...tokens, refreshToken: old.refreshToken, refreshExpiresAt: revive(old).refreshExpiresAt };
          }
        } else {
          conn = tx.create(Connection, {
            id: randomUUID(),
            workspace: workspaceId,
            platform,
            externalId: profile.externalId,
            displayName: profile.displayName.slice(0, 200),
            scopes: [],
            tokenIssuedAt: new Date(),
            connectedBy: state.user ?? null,
          });
        }
        Object.assign(conn, {
          displayName: profile.displayName.slice(0, 200),
          handle: profile.handle?.slice(0, 200) ?? null,
          externalIds: profile.ids ?? null,
          status: 'active',
          statusReason: null,
          scopes: tokens.scopes,
          tokenExpiresAt: merged.expiresAt ?? null,
          refreshExpiresAt: merged.refreshExpiresAt ?? null,
          tokenIssuedAt: new Date(),
          connectedBy: state.user ?? conn.connectedBy ?? null,
          disconnectedAt: null,
          revokeOutcome: null,
          revokeDetail: null,
        });
        await tx.flush();
        const ciphertext = sealJson(ring, merged, tokensAad(conn.id));
        await tx.getConnection().execute(
          `insert into connection_tokens (connection_id, ciphertext, key_id, version, updated_at) values (?, ?, ?, 1, now())
             on conflict (connection_id) do update set ciphertext = excluded.ciphertext, key_id = excluded.key_id,
               version = connection_tokens.version + 1, updated_at = now()`,
          [conn.id, ciphertext, ring.currentId],
          'run',
          tx.getTransactionContext(),
        );
        Object.assign(locked ?? {}, { completedAt: new Date(), connectionId: conn.id, tokensCiphertext: null });
        audit(tx, {
          action: reconnected ? 'connection.reconnected' : 'connection.connected',
          actorId: state.user ?? null,
          workspaceId,
          targetType: 'connection',
          targetId: conn.id,
          details: { platform, scopes: tokens.scopes.length },
        });
        return { connectionId: conn.id, reconnected };
      });
    },

    /** A connect that cannot finish leaves nothing behind but the reason. */
    async failConnect({ stateId, errorCode }: { stateId: string; errorCode: string }): Promise<void> {
      await em()
        .getConnection()
        .execute(
          `update oauth_states set error_code = ?, code_ciphertext = null, tokens_ciphertext = null,
             verifier_ciphertext = null where id = ? and completed_at is null`,
          [errorCode.slice(0, 64), stateId],
        );
    },

    async planRefresh({ connectionId }: { connectionId: string }): Promise<RefreshPlan> {
      const conn = await em().findOne(Connection, connectionId);
      if (!conn) return { status: 'gone', refreshAt: null };
      const adapter = adapters[conn.platform as PlatformId];
      if (conn.status !== 'active' || adapter.refreshRule === 'none' || !conn.tokenExpiresAt) {
        return { status: conn.status, refreshAt: null };
      }
      const issued = conn.tokenIssuedAt.getTime();
      const expires = conn.tokenExpiresAt.getTime();
      const lead = Math.max(0, expires - issued) * policy.refreshLeadFraction;
      const at = Math.max(expires - lead, issued + adapter.minRefreshAgeMs);
      return { status: conn.status, refreshAt: new Date(at).toISOString() };
    },

    /** The only code that refreshes a connection's tokens; the connection workflow serialises calls. */
    async refreshConnection({ connectionId }: { connectionId: string }): Promise<RefreshOutcome> {
      const conn = await em().findOne(Connection, connectionId);
      if (conn?.status !== 'active') return { outcome: 'skipped' };
      const adapter = adapters[conn.platform as PlatformId];
      if (adapter.refreshRule === 'none') return { outcome: 'not_supported' };
      const earliest = conn.tokenIssuedAt.getTime() + adapter.minRefreshAgeMs;
      if (Date.now() < earliest) return { outcome: 'too_early', refreshAt: new Date(earliest).toISOString() };
      const stored = await loadTokens(connectionId);
      if (!stored) return { outcome: 'skipped' };
      let fresh: TokenSet;
      try {
        fresh = await beating(() => adapter.refresh(stored.tokens));
      } catch (err) {
        if (err instanceof PlatformError && (err.kind === 'token_revoked' || err.kind === 'token_expired')) {
          const reason =
            err.kind === 'token_revoked'
              ? 'the platform revoked access'
              : 'the access token expired and cannot be renewed';
          await markNeedsReconnect(connectionId, reason);
          return { outcome: 'needs_reconnect', reason };
        }
        platformFailure(err);
      }
      // A rotating platform sends a new refresh token; a stable one sends none and the old one stays.
      const merged: TokenSet = {
        ...fresh,
        refreshToken: fresh.refreshToken ?? stored.tokens.refreshToken,
        refreshExpiresAt: fresh.refreshExpiresAt ?? stored.tokens.refreshExpiresAt,
        extra: fresh.extra ?? stored.tokens.extra,
      };
      await em().transactional(async (tx) => {
        const written = await tx
          .getConnection()
          .execute(
            'update connection_tokens set ciphertext = ?, key_id = ?, version = version + 1, updated_at = now() where connection_id = ? and version = ?',
            [sealJson(ring, merged, tokensAad(connectionId)), ring.currentId, connectionId, stored.version],
            'run',
            tx.getTransactionContext(),
          );
        if ((written as { affectedRows?: number }).affectedRows !== 1) {
          throw ApplicationFailure.retryable('tokens changed during the refresh', 'transient');
        }
        const row = await tx.findOneOrFail(Connection, connectionId);
        row.tokenExpiresAt = merged.expiresAt ?? null;
        row.refreshExpiresAt = merged.refreshExpiresAt ?? null;
        row.tokenIssuedAt = new Date();
        row.lastRefreshedAt = new Date();
        if (fresh.scopes.length) row.scopes = fresh.scopes;
      });
      return { outcome: 'refreshed', expiresAt: merged.expiresAt?.toISOString() ?? null };
    },

    async beginDisconnect({ connectionId, byUserId }: { connectionId: string; byUserId: string | null }) {
      await em().transactional(async (tx) => {
        const conn = await tx.findOne(Connection, connectionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!conn || conn.status === 'disconnected' || conn.status === 'disconnecting') return;
        conn.status = 'disconnecting';
        audit(tx, {
          action: 'connection.disconnect_requested',
          actorId: byUserId,
          workspaceId: conn.workspace,
          targetType: 'connection',
          targetId: conn.id,
          details: { platform: conn.platform },
        });
      });
    },

    /** One upstream revoke attempt; the workflow's retry policy supplies retries and backoff. */
    async revokeUpstream({
      connectionId,
    }: {
      connectionId: string;
    }): Promise<{ outcome: RevokeOutcome; detail: string }> {
      const conn = await em().findOne(Connection, connectionId);
      const stored = await loadTokens(connectionId);
      if (!conn || !stored) return { outcome: 'deleted_locally_only', detail: 'no tokens were stored' };
      try {
        const result = await beating(() => adapters[conn.platform as PlatformId].revoke(stored.tokens));
        return result.outcome === 'revoked'
          ? { outcome: 'revoked_upstream', detail: result.detail ?? `the platform answered ${result.status}` }
          : { outcome: 'deleted_locally_only', detail: result.reason };
      } catch (err) {
        // Already dead upstream: nothing is left to revoke.
        if (err instanceof PlatformError && err.kind === 'token_revoked') {
          return { outcome: 'revoked_upstream', detail: 'the grant was already revoked at the platform' };
        }
        platformFailure(err);
      }
    },

    /** Tokens gone, status and revoke result recorded, audit written: one transaction. */
    async finishDisconnect(args: {
      connectionId: string;
      byUserId: string | null;
      outcome: RevokeOutcome;
      detail: string;
      attempts: number;
    }): Promise<void> {
      await em().transactional(async (tx) => {
        const conn = await tx.findOne(Connection, args.connectionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!conn || conn.status === 'disconnected') return;
        await tx.nativeDelete(ConnectionTokens, { connection: conn.id });
        // Later features (sync, inbox) delete the rows that leave with the connection here.
        conn.status = 'disconnected';
        conn.statusReason = null;
        conn.disconnectedAt = new Date();
        conn.revokeOutcome = args.outcome;
        conn.revokeDetail = args.detail.slice(0, 300);
        conn.tokenExpiresAt = null;
        conn.refreshExpiresAt = null;
        audit(tx, {
          action: 'connection.disconnected',
          actorId: args.byUserId,
          workspaceId: conn.workspace,
          targetType: 'connection',
          targetId: conn.id,
          details: { platform: conn.platform, outcome: args.outcome, attempts: args.attempts },
        });
      });
    },
  };
}

export type ConnectionActivities = ReturnType<typeof createConnectionActivities>;
