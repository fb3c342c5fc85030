import { ApplicationFailure } from '@temporalio/activity';
import { PlatformError } from '../platforms/errors.ts';

// The one place a PlatformError becomes a Temporal failure. Its type is the taxonomy kind, so the
// retry policy and workflows decide by kind: rate limits wait exactly as long as the platform said,
// transient errors back off, everything else stops retrying.
export function platformFailure(err: unknown): never {
  if (!(err instanceof PlatformError)) throw err;
  const details = [{ platform: err.platform, kind: err.kind, status: err.status ?? null, code: err.code ?? null }];
  switch (err.kind) {
    case 'rate_limited':
      throw ApplicationFailure.create({
        type: 'rate_limited',
        message: err.message,
        details,
        // Without a platform-given wait the retry policy's backoff applies.
        nextRetryDelay: err.retryAfterMs,
      });
    case 'transient':
      throw ApplicationFailure.retryable(err.message, 'transient', ...details);
    default:
      throw ApplicationFailure.nonRetryable(err.message, err.kind, ...details);
  }
}

export async function onPlatform<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    platformFailure(err);
  }
}
