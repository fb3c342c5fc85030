import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { connectRedirectUri, stateAad } from '../../activities/connections.ts';
import { CONNECTION_STATUSES, Connection, Notice, OAuthState, REVOKE_OUTCOMES } from '../../db/entities/index.ts';
import { audit } from '../../lib/audit.ts';
import { sha256 } from '../../lib/secrets.ts';
import { encryptSecret } from '../../lib/vault.ts';
import { pkceChallenge } from '../../platforms/http.ts';
import { PLATFORMS, type PlatformId } from '../../platforms/types.ts';
import {
  connectionInput,
  connectionUpdateFailure,
  disconnect,
  refreshNow,
  runConnect,
} from '../../workflows/connection.client.ts';
import { AppError, conflict, notFound, unavailable } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, ErrorResponse, Strict, Timestamp, Uuid, WorkspaceParams } from '../schemas.ts';

const PlatformSchema = Type.Enum(PLATFORMS);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const ConnectionView = Type.Object({
  id: Uuid,
  workspaceId: Uuid,
  platform: PlatformSchema,
  externalId: Type.String(),
  displayName: Type.String(),
  handle: Nullable(Type.String()),
  status: Type.Enum(CONNECTION_STATUSES),
  statusReason: Nullable(Type.String()),
  scopes: Type.Array(Type.String()),
  tokenExpiresAt: Nullable(Timestamp),
  refreshExpiresAt: Nullable(Timestamp),
  lastRefreshedAt: Nullable(Timestamp),
  connectedBy: Nullable(Uuid),
  createdAt: Timestamp,
  disconnectedAt: Nullable(Timestamp),
  revokeOutcome: Nullable(Type.Enum(REVOKE_OUTCOMES)),
  revokeDetail: Nullable(Type.String()),
});

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
export const connectionView = (c: Connection) => ({
  id: c.id,
  workspaceId: c.workspace,
  platform: c.platform,
  externalId: c.externalId,
  displayName: c.displayName,
  handle: c.handle ?? null,
  status: c.status,
  statusReason: c.statusReason ?? null,
  scopes: c.scopes,
  tokenExpiresAt: iso(c.tokenExpiresAt),
  refreshExpiresAt: iso(c.refreshExpiresAt),
  lastRefreshedAt: iso(c.lastRefreshedAt),
  connectedBy: c.connectedBy ?? null,
  createdAt: c.createdAt.toISOString(),
  disconnectedAt: iso(c.disconnectedAt),
  revokeOutcome: c.revokeOutcome ?? null,
  revokeDetail: c.revokeDetail ?? null,
});

const ConnectionParams = Strict({ workspaceId: Uuid, connectionId: Uuid });
const badState = (message: string) => new AppError(400, 'INVALID_STATE', message, 'querystring.state');

export const connectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const { adapters } = app;
  const tags = ['connections'];
  const taskQueue = config.taskQueues.core;
  const errors = { ...commonErrors, 403: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse };

  app.get(
    '/platforms',
    {
      schema: {
        tags,
        summary: 'Supported platforms and how each one connects',
        security: bearerSecurity,
        response: {
          200: Type.Array(
            Type.Object({
              platform: PlatformSchema,
              name: Type.String(),
              pkce: Type.Boolean(),
              refreshRule: Type.String(),
              simulated: Type.Boolean(),
            }),
          ),
          ...commonErrors,
        },
      },
    },
    async () =>
      PLATFORMS.map((p) => ({
        platform: p,
        name: adapters[p].displayName,
        pkce: adapters[p].pkce,
        refreshRule: adapters[p].refreshRule,
        simulated: adapters[p].simulated,
      })),
  );

  app.post(
    '/workspaces/:workspaceId/connections',
    {
      schema: {
        tags,
        summary: 'Start connecting a platform account (admin or owner)',
        description:
          'Creates a single-use OAuth start bound to you and this workspace and returns the URL to send the browser to. The platform redirects back to `/v1/connections/callback`.',
        security: bearerSecurity,
        params: WorkspaceParams,
        body: Strict({ platform: PlatformSchema }),
        response: {
          201: Type.Object({ authorizeUrl: Type.String(), platform: PlatformSchema, expiresAt: Timestamp }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'admin');
      const platform = request.body.platform as PlatformId;
      const adapter = adapters[platform];
      const state = randomBytes(32).toString('base64url');
      const verifier = randomBytes(48).toString('base64url');
      const expiresAt = new Date(Date.now() + config.oauthStateTtlMs);
      const em = orm.em.fork();
      const row = em.create(OAuthState, {
        id: randomUUID(),
        purpose: 'connect',
        stateHash: sha256(state),
        provider: platform,
        user,
        workspace: workspaceId,
        expiresAt,
      });
      if (adapter.pkce) row.verifierCiphertext = encryptSecret(config.keyRing, verifier, stateAad(row.id, 'verifier'));
      audit(em, {
        action: 'connection.started',
        actorId: user,
        workspaceId,
        targetType: 'oauth_state',
        targetId: row.id,
        requestId: request.id,
        details: { platform },
      });
      await em.flush();
      const authorizeUrl = adapter.authorizeUrl({
        state,
        redirectUri: connectRedirectUri(config),
        codeChallenge: adapter.pkce ? pkceChallenge(verifier) : undefined,
      });
      return reply.code(201).send({ authorizeUrl, platform, expiresAt: expiresAt.toISOString() });
    },
  );

  app.get(
    '/connections/callback',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'OAuth redirect target of every platform',
        description:
          'Validates the state (single use, unexpired, bound to the user and workspace that started it), then runs the connect workflow `connect/<stateId>`: code exchange with the PKCE verifier, profile, encrypted tokens.',
        querystring: Type.Object({
          state: Type.String({ minLength: 16, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }),
          code: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^[\\x21-\\x7e]+$' })),
          error: Type.Optional(Type.String({ maxLength: 200 })),
          error_description: Type.Optional(Type.String({ maxLength: 1000 })),
        }),
        response: { 200: ConnectionView, 400: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const { state, code, error } = request.query;
      if (!code && !error)
        throw new AppError(400, 'VALIDATION_FAILED', 'querystring.code is required', 'querystring.code');
      const em = orm.em.fork();
      const row = await em.findOne(OAuthState, { stateHash: sha256(state), purpose: 'connect' });
      if (!row?.workspace) throw badState('this sign-in link is not one Switchboard issued');
      if (row.consumedAt) throw badState('this sign-in link was already used; start connecting again');
      if (row.expiresAt <= new Date()) throw badState('this sign-in link expired; start connecting again');
      // Consume the state atomically: of two concurrent callbacks only one proceeds.
      const codeCiphertext = code ? encryptSecret(config.keyRing, code, stateAad(row.id, 'code')) : null;
      const taken = await em.getConnection().execute(
        `update oauth_states set consumed_at = now(), code_ciphertext = ?, error_code = ?
           where id = ? and consumed_at is null and expires_at > now()`,
        [codeCiphertext, error ? 'access_denied' : null, row.id],
        'run',
      );
      if ((taken as { affectedRows?: number }).affectedRows !== 1) throw badState('this sign-in link was already used');
      if (error) {
        throw new AppError(
          400,
          'PLATFORM_DENIED',
          `the platform did not grant access (${error.slice(0, 100)})`,
          'querystring.error',
        );
      }
      let result: Awaited<ReturnType<typeof runConnect>>;
      try {
        result = await runConnect(temporal, taskQueue, {
          stateId: row.id,
          workspaceId: row.workspace,
          platform: row.provider as PlatformId,
        });
      } catch {
        throw unavailable('connecting did not finish in time; check the connection list shortly');
      }
      if (!result.ok) {
        const code = result.errorCode === 'exchange_refused' ? 'EXCHANGE_REFUSED' : 'CONNECT_FAILED';
        throw new AppError(400, code, `the platform refused to connect: ${result.message}`.slice(0, 500));
      }
      const conn = await orm.em.fork().findOneOrFail(Connection, result.connectionId);
      return connectionView(conn);
    },
  );

  app.get(
    '/workspaces/:workspaceId/connections',
    {
      schema: {
        tags,
        summary: 'Connections of a workspace, with their status',
        security: bearerSecurity,
        params: WorkspaceParams,
        response: { 200: Type.Array(ConnectionView), ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId);
      const rows = await orm.em.fork().find(Connection, { workspace: workspaceId }, { orderBy: { createdAt: 'asc' } });
      return rows.map(connectionView);
    },
  );

  app.get(
    '/workspaces/:workspaceId/connections/:connectionId',
    {
      schema: {
        tags,
        summary: 'One connection, from PostgreSQL',
        security: bearerSecurity,
        params: ConnectionParams,
        response: { 200: ConnectionView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      await requireRole(request, workspaceId);
      const conn = await orm.em.fork().findOne(Connection, { id: connectionId, workspace: workspaceId });
      if (!conn) throw notFound('connection');
      return connectionView(conn);
    },
  );

  const loadForChange = async (workspaceId: string, connectionId: string) => {
    const conn = await orm.em.fork().findOne(Connection, { id: connectionId, workspace: workspaceId });
    if (!conn) throw notFound('connection');
    if (conn.status === 'disconnected') throw conflict('CONNECTION_DISCONNECTED', 'this connection is disconnected');
    return conn;
  };

  app.delete(
    '/workspaces/:workspaceId/connections/:connectionId',
    {
      schema: {
        tags,
        summary: 'Disconnect (admin or owner)',
        description:
          'Revokes the grant at the platform with retries and backoff where the platform has a revoke endpoint, deletes the stored tokens and records the result: revoked_upstream, deleted_locally_only or revoke_failed.',
        security: bearerSecurity,
        params: ConnectionParams,
        response: {
          200: Type.Object({
            connectionId: Uuid,
            outcome: Type.Enum(REVOKE_OUTCOMES),
            attempts: Type.Integer(),
            connection: ConnectionView,
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'admin');
      const conn = await loadForChange(workspaceId, connectionId);
      let result: Awaited<ReturnType<typeof disconnect>>;
      try {
        result = await disconnect(temporal, taskQueue, connectionInput(conn.id, workspaceId, conn.platform), user);
      } catch (err) {
        if (connectionUpdateFailure(err) === 'ConnectionDisconnected') {
          throw conflict('CONNECTION_DISCONNECTED', 'this connection is disconnected');
        }
        throw unavailable('the disconnect is still running; check the connection shortly');
      }
      const fresh = await orm.em.fork().findOneOrFail(Connection, connectionId);
      return { ...result, connection: connectionView(fresh) };
    },
  );

  app.post(
    '/workspaces/:workspaceId/connections/:connectionId/refresh',
    {
      schema: {
        tags,
        summary: 'Refresh the token now (admin or owner)',
        description: 'Goes through the connection workflow, the only place tokens are refreshed.',
        security: bearerSecurity,
        params: ConnectionParams,
        response: {
          200: Type.Object({ outcome: Type.String(), connection: ConnectionView }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      await requireRole(request, workspaceId, 'admin');
      const conn = await loadForChange(workspaceId, connectionId);
      let result: Awaited<ReturnType<typeof refreshNow>>;
      try {
        result = await refreshNow(temporal, taskQueue, connectionInput(conn.id, workspaceId, conn.platform));
      } catch (err) {
        if (connectionUpdateFailure(err) === 'ConnectionDisconnected') {
          throw conflict('CONNECTION_DISCONNECTED', 'this connection is being disconnected');
        }
        throw unavailable('the connection service did not answer; try again');
      }
      const fresh = await orm.em.fork().findOneOrFail(Connection, connectionId);
      return { outcome: result.outcome, connection: connectionView(fresh) };
    },
  );

  app.get(
    '/workspaces/:workspaceId/notices',
    {
      schema: {
        tags: ['notices'],
        summary: 'In-app notices of a workspace (e.g. a connection needs reconnecting)',
        security: bearerSecurity,
        params: WorkspaceParams,
        response: {
          200: Type.Array(
            Type.Object({
              id: Uuid,
              kind: Type.String(),
              message: Type.String(),
              connectionId: Nullable(Uuid),
              createdAt: Timestamp,
              readAt: Nullable(Timestamp),
            }),
          ),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId);
      const rows = await orm.em
        .fork()
        .find(Notice, { workspace: workspaceId }, { orderBy: { createdAt: 'desc' }, limit: 200 });
      return rows.map((n) => ({
        id: n.id,
        kind: n.kind,
        message: n.message,
        connectionId: n.connection ?? null,
        createdAt: n.createdAt.toISOString(),
        readAt: iso(n.readAt),
      }));
    },
  );
};
