import { existsSync } from 'node:fs';
import type { MikroORM } from '@mikro-orm/core';
import { Client } from '@temporalio/client';
import {
  DefaultLogger,
  type LogLevel,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import pino from 'pino';
import { initORM } from '../db/orm.ts';
import type { TaskQueueKind } from '../domain/task-queues.ts';
import { type Config, loadConfig } from '../lib/config.ts';
import { loggerOptions } from '../lib/logger.ts';
import { ensureReconcilerSchedule, ensureRetentionSchedules } from '../lib/schedules.ts';
import { ensureTemporalSetup, withBackoff } from '../lib/temporal.ts';

export interface WorkerSpec {
  kind: TaskQueueKind;
  activities: (deps: { orm: MikroORM; config: Config }) => object;
  /** false: an activity-only worker (no workflow bundle needed). */
  workflows?: boolean;
  options?: (config: Config) => Partial<WorkerOptions>;
}

/**
 * Runs one task queue's worker until SIGTERM/SIGINT, then drains and exits 0. If Temporal stays
 * unreachable through the connection attempts it exits non-zero instead of idling.
 */
export async function runWorker(spec: WorkerSpec): Promise<void> {
  const config = loadConfig();
  const log = pino(loggerOptions(config.logLevel, `worker-${spec.kind}`));
  // Signals are ours, not the SDK runtime's, so a stop request also ends a connection retry loop.
  const stopping = new AbortController();
  let worker: Worker | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      stopping.abort();
      if (worker?.getState() === 'RUNNING') worker.shutdown();
    });
  }
  try {
    const workflows = spec.workflows !== false;
    if (workflows && !existsSync(config.workflowBundlePath)) {
      throw new Error(`no workflow bundle at ${config.workflowBundlePath}; build it with \`npm run bundle\``);
    }
    const metricsHost = config.host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1';
    Runtime.install({
      shutdownSignals: [],
      logger: new DefaultLogger('WARN', (entry) =>
        log[entry.level.toLowerCase() as Lowercase<LogLevel>]?.({ sdk: entry.meta }, entry.message),
      ),
      telemetryOptions: config.workerMetricsPort
        ? {
            metrics: {
              prometheus: { bindAddress: `${metricsHost}:${config.workerMetricsPort}` },
              globalTags: { worker: spec.kind },
            },
          }
        : {},
    });
    const orm = await initORM(config.databaseUrl);
    const connection = await withBackoff(
      `connecting to Temporal at ${config.temporal.address}`,
      config.workerConnectAttempts,
      () => NativeConnection.connect({ address: config.temporal.address }),
      (msg) => log.warn(msg),
      stopping.signal,
    );
    await ensureTemporalSetup(connection, config.temporal.namespace, config.temporal.retentionDays);
    if (spec.kind === 'core' && config.workerSchedules) {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const schedules = await ensureRetentionSchedules(client, config);
      log.info(schedules, 'retention schedules ensured (retention/<policy>, see domain/retention.ts)');
      log.info({ reconciler: await ensureReconcilerSchedule(client, config) }, 'publish-reconciler schedule ensured');
      log.info(
        { reconciler: await ensureReconcilerSchedule(client, config, { which: 'sync' }) },
        'sync-reconciler schedule ensured',
      );
    }
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.taskQueues[spec.kind],
      ...(workflows ? { workflowBundle: { codePath: config.workflowBundlePath } } : {}),
      activities: spec.activities({ orm, config }),
      shutdownGraceTime: '20 seconds',
      ...spec.options?.(config),
    });
    log.info({ taskQueue: config.taskQueues[spec.kind] }, 'worker polling');
    try {
      if (!stopping.signal.aborted) await worker.run();
    } finally {
      await connection.close();
      await orm.close();
    }
    log.info('worker stopped');
  } catch (err) {
    if (stopping.signal.aborted && (err as Error).name === 'AbortError') {
      log.info('stopped before polling');
      return;
    }
    log.fatal({ err }, 'worker failed');
    log.flush?.();
    process.exitCode = 1;
  }
}
