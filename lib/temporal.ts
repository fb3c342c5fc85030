import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES } from '../domain/search-attributes.ts';
import type { Config } from './config.ts';

const { IndexedValueType, TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;
const GRPC_NOT_FOUND = 5;

/** A client whose connection is opened on first use, so the API starts (and reports not-ready) without Temporal. */
export function lazyClient(config: Config): { client: Client; connection: Connection } {
  const connection = Connection.lazy({ address: config.temporal.address, connectTimeout: '3 seconds' });
  return { client: new Client({ connection, namespace: config.temporal.namespace }), connection };
}

/**
 * Retries with exponential backoff (1 s, 2 s, 4 s … capped at 30 s), then gives up with the last
 * error. An aborted `signal` ends the wait at once (with an AbortError).
 */
export async function withBackoff<T>(
  what: string,
  attempts: number,
  fn: () => Promise<T>,
  onRetry: (message: string) => void = () => {},
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      const delay = Math.min(1000 * 2 ** (attempt - 1), 30_000);
      onRetry(`${what} failed (attempt ${attempt}/${attempts}): ${(err as Error).message}; retrying in ${delay} ms`);
      await sleep(delay, undefined, { signal });
    }
  }
}

function indexedType(type: string): number {
  return IndexedValueType[`INDEXED_VALUE_TYPE_${type}` as keyof typeof IndexedValueType];
}

/** What ensureTemporalSetup needs; both the client's Connection and the worker's NativeConnection have it. */
type AdminConnection = Pick<Connection, 'workflowService' | 'operatorService'>;

/**
 * Registers the namespace (with the configured retention) if it is missing and adds any missing
 * custom search attributes. Idempotent; workers call it at start so a fresh cluster needs no manual step.
 */
export async function ensureTemporalSetup(
  connection: AdminConnection,
  namespace: string,
  retentionDays: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const svc = connection.workflowService;
  try {
    await svc.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== GRPC_NOT_FOUND) throw err;
    await svc
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) })
      .catch((e: { code?: number }) => {
        if (e.code !== 6 /* ALREADY_EXISTS: another process won the race */) throw e;
      });
  }
  // A new namespace and new attributes become visible only after the server's caches refresh.
  while (true) {
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !(k.name in (customAttributes ?? {})));
      if (missing.length === 0) return;
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((k) => [k.name, indexedType(k.type)])),
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} or its search attributes did not become ready`);
    await sleep(250);
  }
}

export type PollerCheck = { queue: string; type: 'workflow' | 'activity'; ok: boolean; pollers: number };

/** Asks Temporal which task queues have a worker that polled recently. */
export async function checkPollers(
  connection: Connection,
  namespace: string,
  queues: { queue: string; types: readonly ('workflow' | 'activity')[] }[],
  freshMs: number,
  timeoutMs: number,
): Promise<PollerCheck[]> {
  const now = Date.now();
  const checks = queues.flatMap(({ queue, types }) =>
    types.map(async (type): Promise<PollerCheck> => {
      const res = await connection.withDeadline(now + timeoutMs, () =>
        connection.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType:
            type === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        }),
      );
      const fresh = (res.pollers ?? []).filter((p) => {
        const seconds = Number(p.lastAccessTime?.seconds ?? 0);
        return now - seconds * 1000 <= freshMs;
      });
      return { queue, type, ok: fresh.length > 0, pollers: fresh.length };
    }),
  );
  return Promise.all(checks);
}
