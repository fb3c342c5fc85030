import fp from 'fastify-plugin';
import { RequestLog } from '../../db/entities/index.ts';

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
  let buffer: Row[] = [];
  let pending: Promise<void> = Promise.resolve();

  const flush = () => {
    if (buffer.length === 0) return pending;
    const rows = buffer;
    buffer = [];
    pending = pending
      .then(() => orm.em.fork().insertMany(RequestLog, rows))
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
      path: request.url.split('?')[0]!.slice(0, 512),
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
