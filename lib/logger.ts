import type { LoggerOptions } from 'pino';

// Anything that can carry a secret is censored before it reaches a log line.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  'body.password',
  'body.token',
];

/** Paths that carry a secret in the path itself (client approval links). */
const SECRET_PATH = /^(\/v1\/approvals\/)[^/]+/;

/** The path of a request as it may be logged: no query string, no token in the path. */
export const loggablePath = (url: string) => (url.split('?')[0] ?? '').replace(SECRET_PATH, '$1[redacted]');

export function loggerOptions(level: string, name: string): LoggerOptions {
  return {
    level,
    name,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // Never log query strings: links and callbacks carry tokens there.
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        path: loggablePath(req.url),
        id: req.id,
      }),
    },
  };
}
