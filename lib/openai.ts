import OpenAI, { APIConnectionError, APIError, APIUserAbortError, OpenAIError } from 'openai';
import { PlatformError, type PlatformErrorKind } from '../platforms/errors.ts';
import type { Config } from './config.ts';

// The one place that builds the OpenAI client and the one place that decides what its failures
// mean. The SDK never retries (maxRetries 0): a Temporal activity retries by the PlatformError kind,
// so a rate limit waits exactly as long as OpenAI asked and nothing is retried twice over.

export type OpenAIClient = OpenAI;

/** A client from config, or undefined when no key is configured (the features that need it are off). */
export function createOpenAIClient(config: Pick<Config, 'openai'>): OpenAIClient | undefined {
  const { apiKey, baseUrl, timeoutMs } = config.openai;
  if (!apiKey) return undefined;
  return new OpenAI({ apiKey, baseURL: baseUrl, timeout: timeoutMs, maxRetries: 0 });
}

/** OpenAI's wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function kindOf(err: APIError): PlatformErrorKind {
  const status = err.status;
  // No answer at all: the connection failed or timed out. Every OpenAI call is safe to repeat.
  if (status === undefined) return 'transient';
  // OpenAI may say outright whether a retry can help.
  const should = err.headers?.get('x-should-retry');
  if (should === 'true') return status === 429 ? 'rate_limited' : 'transient';
  if (should === 'false') return 'permanent';
  if (status === 429) {
    // An exhausted quota or budget is a 429 too, but waiting does not refill it.
    return err.code === 'insufficient_quota' ? 'permanent' : 'rate_limited';
  }
  // 408 and 409 (lock timeout) are the 4xx answers the SDK itself would retry.
  if (status === 408 || status === 409 || status >= 500) return 'transient';
  // 401 (bad key), 403, 404 (unknown model), 400 (invalid request), 413 (too large).
  return 'permanent';
}

/**
 * An OpenAI SDK failure as a PlatformError (platform 'openai'); PlatformErrors and anything that is not
 * an OpenAI failure (our own bugs, an abort we asked for) come back unchanged.
 */
export function fromOpenAIError(err: unknown): unknown {
  if (err instanceof PlatformError || err instanceof APIUserAbortError) return err;
  if (err instanceof APIError) {
    const kind = kindOf(err);
    const what = err instanceof APIConnectionError ? 'no answer' : `HTTP ${err.status}`;
    return new PlatformError('openai', kind, `OpenAI: ${what}: ${err.message}`, {
      status: err.status,
      code: err.code ?? err.type ?? undefined,
      retryAfterMs: kind === 'rate_limited' ? retryAfterMs(err.headers) : undefined,
    });
  }
  // Client-side refusals (no key, a length-cut structured output): repeating cannot help.
  if (err instanceof OpenAIError) return new PlatformError('openai', 'permanent', `OpenAI: ${err.message}`);
  return err;
}

/** Runs one OpenAI call; its failures surface as PlatformError. */
export async function callOpenAI<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromOpenAIError(err);
  }
}
