import fp from 'fastify-plugin';
import type { RequestLog } from '../../db/entities/index.ts';
import { loggablePath } from '../../lib/logger.ts';

const FLUSH_EVERY_MS = 1000;
const FLUSH_AT_ROWS = 500;

type Row = Omit<RequestLog, 'id'>;

/**
 * Records every API request (ip, user agent, method, path, status, time, user); health, metrics and
 * docs are left out. Kept 30 days by the retention schedule that the privacy-operations work adds.
 * Rows are written in batches after the response, off the request's path.
 */
export const requestLogPlugin = fp(async (app) => {
  const { orm } = app.deps;
  // One statement with the batch as one JSON parameter: building entities for hundreds of rows a
  // second would stall the event loop that serves requests.
  const insertRows = (rows: Row[]) =>
    orm.em.getConnection().execute(
      `insert into request_logs (at, request_id, ip, user_agent, method, path, status, duration_ms, user_id)
       select at, request_id, ip, user_agent, method, path, status, duration_ms, user_id
       from json_to_recordset(?::json) as r(at timestamptz, request_id text, ip text, user_agent text,
         method text, path text, status int, duration_ms int, user_id uuid)`,
      [
        JSON.stringify(
          rows.map((r) => ({
            at: r.at,
            request_id: r.requestId,
            ip: r.ip,
            user_agent: r.userAgent,
            method: r.method,
            path: r.path,
            status: r.status,
            duration_ms: r.durationMs,
            user_id: r.user,
          })),
        ),
      ],
    );
  let buffer: Row[] = [];
  let pending: Promise<void> = Promise.resolve();

  const flush = () => {
    if (buffer.length === 0) return pending;
    const rows = buffer;
    buffer = [];
    pending = pending
      .then(() => insertRows(rows))
      .then(
        () => undefined,
        (err) => app.log.error({ err, rows: rows.length }, 'request log write failed'),
      );
    return pending;
  };
  const timer = setInterval(flush, FLUSH_EVERY_MS);
  timer.unref();
  app.decorate('flushRequestLog', flush);

  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.config.skipRequestLog) return;
    buffer.push({
      at: new Date(),
      requestId: request.id,
      ip: request.ip,
      userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
      method: request.method.slice(0, 10),
      path: loggablePath(request.url).slice(0, 512),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime),
      user: request.principal?.userId ?? null,
    });
    if (buffer.length >= FLUSH_AT_ROWS) void flush();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await flush();
  });
});

declare module 'fastify' {
  interface FastifyInstance {
    /** Writes buffered request-log rows now. */
    flushRequestLog(): Promise<void>;
  }
}
