import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { defaultPolicy } from '../../domain/policy.ts';
import { TASK_QUEUE_KINDS, TASK_QUEUE_POLLS } from '../../domain/task-queues.ts';
import { READY_CHECK_TIMEOUT_MS } from '../../lib/config.ts';
import { checkPollers } from '../../lib/temporal.ts';

const Check = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Record(Type.String(), Check),
  missing: Type.Array(Type.String()),
});

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

/**
 * /health/live: the process serves requests. /health/ready: PostgreSQL answers, Temporal answers,
 * and a worker polls every task queue the system uses (workflow and activity side).
 */
export const healthPlugin = fp(async (app) => {
  const { orm, temporalConnection: connection, config } = app.deps;
  const opts = { config: { public: true, skipRequestLog: true }, schema: { tags: ['health'] } } as const;

  app.get(
    '/health/live',
    { ...opts, schema: { ...opts.schema, response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/health/ready',
    { ...opts, schema: { ...opts.schema, response: { 200: Readiness, 503: Readiness } } },
    async (_req, reply) => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      const missing: string[] = [];

      try {
        await withTimeout(orm.em.getConnection().execute('select 1'), READY_CHECK_TIMEOUT_MS, 'PostgreSQL');
        checks.postgres = { ok: true };
      } catch (err) {
        checks.postgres = { ok: false, detail: (err as Error).message };
        missing.push('PostgreSQL does not answer');
      }

      try {
        await withTimeout(connection.ensureConnected(), READY_CHECK_TIMEOUT_MS, 'Temporal');
        await connection.withDeadline(Date.now() + READY_CHECK_TIMEOUT_MS, () =>
          connection.workflowService.getSystemInfo({}),
        );
        checks.temporal = { ok: true };
        const pollers = await checkPollers(
          connection,
          config.temporal.namespace,
          TASK_QUEUE_KINDS.map((kind) => ({ queue: config.taskQueues[kind], types: TASK_QUEUE_POLLS[kind] })),
          defaultPolicy.workerPollerFreshMs,
          READY_CHECK_TIMEOUT_MS,
        );
        for (const p of pollers) {
          checks[`taskQueue:${p.queue}:${p.type}`] = { ok: p.ok, detail: `${p.pollers} live poller(s)` };
          if (!p.ok) missing.push(`no worker polls task queue ${p.queue} (${p.type} tasks)`);
        }
      } catch (err) {
        checks.temporal = { ok: false, detail: (err as Error).message };
        missing.push(`Temporal does not answer at ${config.temporal.address}`);
      }

      const ready = missing.length === 0;
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks, missing });
    },
  );
});
