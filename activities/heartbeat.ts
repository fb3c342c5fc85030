import { Context } from '@temporalio/activity';

/** Heartbeats while slow work runs, so a killed worker's attempt is retried within seconds. */
export async function beating<T>(fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => Context.current().heartbeat(), 1000);
  try {
    Context.current().heartbeat();
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
