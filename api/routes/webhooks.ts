import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { jsonList, sqlOf } from '../../lib/sql.ts';
import { PLATFORMS, type PlatformId } from '../../platforms/types.ts';
import { notifyInboxEvent } from '../../workflows/sync.client.ts';
import { AppError } from '../errors.ts';
import { ErrorResponse } from '../schemas.ts';

// Inbox webhooks. Each platform's endpoint check (hub.challenge, crc_token, challengeCode) is
// answered on GET; a delivery is verified over its raw bytes before anything is parsed, each event
// is stored once per connection (the platform's event key deduplicates redeliveries, duplicates and
// reorderings), and the connection's sync workflow is signalled to ingest it. The platform gets
// its 200 as soon as the events are stored: if Temporal is unreachable, the next pass ingests them.

const WebhookParams = Type.Object({ platform: Type.Enum(PLATFORMS) }, { additionalProperties: false });
const Accepted = Type.Object({
  /** Events in the delivery. */
  received: Type.Integer(),
  /** Events new to us (the rest were redeliveries or for accounts not connected). */
  stored: Type.Integer(),
});

/** Meta caps a delivery at 3 MB. */
const BODY_LIMIT = 3 * 1024 * 1024;

export const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const { adapters } = app;
  const tags = ['webhooks'];

  // The signature covers the exact bytes: keep them (only inside this plugin).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  const webhooksOf = (platform: PlatformId) => {
    const hooks = adapters[platform].webhooks;
    if (!hooks) throw new AppError(404, 'NO_WEBHOOKS', `${platform} sends no inbox webhooks`, 'params.platform');
    return hooks;
  };

  app.get(
    '/webhooks/:platform',
    {
      config: { public: true },
      schema: {
        tags,
        summary: "Answer a platform's webhook endpoint check",
        params: WebhookParams,
        querystring: Type.Record(Type.String(), Type.String()),
        response: { 200: Type.Unknown(), 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const answer = webhooksOf(request.params.platform).handshake(request.query, config.webhookVerifyToken);
      if (!answer) throw new AppError(400, 'NOT_A_HANDSHAKE', 'the query is not an endpoint check', 'querystring');
      if (answer.status === 403) throw new AppError(403, 'HANDSHAKE_REFUSED', 'verify token mismatch');
      reply.code(answer.status as 200);
      if (typeof answer.body === 'string') reply.type('text/plain');
      return answer.body;
    },
  );

  app.post(
    '/webhooks/:platform',
    {
      config: { public: true },
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Receive a signed webhook delivery',
        params: WebhookParams,
        response: { 200: Accepted, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const platform = request.params.platform;
      const hooks = webhooksOf(platform);
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const verdict = hooks.verify(request.headers, raw, Date.now());
      if (!verdict.ok) {
        request.log.warn({ platform, reason: verdict.reason }, 'webhook signature refused');
        throw new AppError(401, 'INVALID_SIGNATURE', `webhook refused: ${verdict.reason}`, 'headers');
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new AppError(400, 'VALIDATION_FAILED', 'the body must be JSON', 'body');
      }
      const events = hooks.parse(body);
      const accounts = [...new Set(events.map((e) => e.accountExternalId))];
      const connections = accounts.length
        ? await sqlOf(orm.em.fork()).execute<
            { id: string; workspace_id: string; external_id: string; external_ids: Record<string, string> | null }[]
          >(
            // The event names the account as the platform knows it: the connection's own id or one of
            // its further ids (a LinkedIn member connection acts for its organisation page).
            `select id, workspace_id, external_id, external_ids from connections
             where platform = ? and status in ('active', 'needs_reconnect')
             and (external_id in (select jsonb_array_elements_text(?::jsonb))
                  or exists (select 1 from jsonb_each_text(coalesce(external_ids, '{}'::jsonb)) e
                             where e.value in (select jsonb_array_elements_text(?::jsonb))))`,
            [platform, jsonList(accounts), jsonList(accounts)],
          )
        : [];
      const names = (c: (typeof connections)[number]) => [c.external_id, ...Object.values(c.external_ids ?? {})];
      const rows = events.flatMap((e) =>
        connections
          .filter((c) => names(c).includes(e.accountExternalId))
          .map((c) => ({ c, key: e.dedupeKey, payload: { message: e.message, removed: e.removed, hidden: e.hidden } })),
      );
      let stored = 0;
      const touched = new Map<string, { workspaceId: string }>();
      if (rows.length) {
        const inserted = await sqlOf(orm.em.fork()).execute<{ connection_id: string }[]>(
          `insert into webhook_events (platform, dedupe_key, workspace_id, connection_id, payload, received_at)
           select ?, u.key, u.workspace_id, u.connection_id, u.payload, ?
           from jsonb_to_recordset(?::jsonb) as u(key text, workspace_id uuid, connection_id uuid, payload jsonb)
           on conflict (connection_id, dedupe_key) do nothing
           returning connection_id`,
          [
            platform,
            new Date(),
            jsonList(
              rows.map((r) => ({
                key: r.key,
                workspace_id: r.c.workspace_id,
                connection_id: r.c.id,
                payload: r.payload,
              })),
            ),
          ],
        );
        stored = inserted.length;
        for (const r of inserted) {
          const c = connections.find((x) => x.id === r.connection_id);
          if (c) touched.set(c.id, { workspaceId: c.workspace_id });
        }
      }
      for (const [connectionId, { workspaceId }] of touched) {
        try {
          await notifyInboxEvent(temporal, config.taskQueues.core, { connectionId, workspaceId, platform });
        } catch (err) {
          // Stored is what matters to the platform; the connection's next pass ingests the rows.
          request.log.warn({ err, connectionId }, 'could not signal the sync workflow');
        }
      }
      return { received: events.length, stored };
    },
  );
};
