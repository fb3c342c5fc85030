import type { Provider } from './types.ts';

// The one error taxonomy. Every adapter maps its platform's status codes, error bodies and headers
// into these kinds here in platforms/, and nowhere else decides what a platform's answer means.
export const PLATFORM_ERROR_KINDS = [
  /** Throttled or out of quota; retryAfterMs says how long when the platform tells us. */
  'rate_limited',
  /** The access token expired; a refresh may fix it. */
  'token_expired',
  /** The grant is gone (revoked, password changed, refresh token dead): the user must reconnect. */
  'token_revoked',
  /** 5xx, timeouts and platform-declared temporary errors on calls that are safe to repeat. */
  'transient',
  /** Validation, policy or configuration problems: repeating the call cannot help. */
  'permanent',
  /** A write whose result we did not see (timeout, dropped connection, 5xx): check before retrying. */
  'outcome_unknown',
] as const;
export type PlatformErrorKind = (typeof PLATFORM_ERROR_KINDS)[number];
/** Who answered: a platform, Google sign-in, or a service behind the same taxonomy (OpenAI). */
export type ErrorSource = Provider | 'openai';

export class PlatformError extends Error {
  readonly kind: PlatformErrorKind;
  readonly platform: ErrorSource;
  readonly status: number | undefined;
  /** The platform's own error code (e.g. Meta 190/463, `invalid_grant`, `rate_limit_exceeded`). */
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** A duplicate refusal's pointer to the post that already exists (LinkedIn names the URN). */
  readonly existingId: string | undefined;

  constructor(
    platform: ErrorSource,
    kind: PlatformErrorKind,
    message: string,
    opts: { status?: number; code?: string | number; retryAfterMs?: number; existingId?: string } = {},
  ) {
    super(message);
    this.name = 'PlatformError';
    this.platform = platform;
    this.kind = kind;
    this.status = opts.status;
    this.code = opts.code === undefined ? undefined : String(opts.code);
    this.retryAfterMs = opts.retryAfterMs;
    this.existingId = opts.existingId;
  }
}

/** The platform refused a post as a copy of one that exists: proof an earlier unknown commit landed. */
export const DUPLICATE_CODE = 'duplicate';

export const isPlatformError = (err: unknown): err is PlatformError => err instanceof PlatformError;
