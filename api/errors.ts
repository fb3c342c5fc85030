import { NotFoundError } from '@mikro-orm/core';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyError, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { loggablePath } from '../lib/logger.ts';

// One error shape for every failure: { error: { code, message, field?, requestId } }.

export class AppError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, code: string, message: string, field?: string, headers: Record<string, string> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
    this.headers = headers;
  }
}

export const notFound = (what: string) => new AppError(404, 'NOT_FOUND', `${what} not found`);
export const forbidden = (message: string) => new AppError(403, 'FORBIDDEN', message);
export const conflict = (code: string, message: string, field?: string) => new AppError(409, code, message, field);
export const unauthenticated = (message = 'a valid bearer token is required') =>
  new AppError(401, 'UNAUTHENTICATED', message, undefined, { 'www-authenticate': 'Bearer' });
export const tooManyRequests = (code: string, message: string, retryAfterMs: number) =>
  new AppError(429, code, message, undefined, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) });
export const unavailable = (message: string) => new AppError(503, 'UNAVAILABLE', message);

/** Turns an Ajv error into a dotted field path and a sentence that names it. */
export function describeValidationError(part: string, e: ErrorObject): { field: string; message: string } {
  const base = [part, ...e.instancePath.split('/').filter(Boolean)].join('.');
  switch (e.keyword) {
    case 'required': {
      const field = `${base}.${(e.params as { missingProperty: string }).missingProperty}`;
      return { field, message: `${field} is required` };
    }
    case 'additionalProperties': {
      const field = `${base}.${(e.params as { additionalProperty: string }).additionalProperty}`;
      return { field, message: `${field} is not allowed` };
    }
    default:
      return { field: base, message: `${base} ${e.message ?? 'is invalid'}` };
  }
}

function makeAjv(coerceTypes: boolean): Ajv {
  // Bodies are strict (no coercion, unknown fields refused rather than silently dropped); path and
  // query values arrive as strings and are coerced to their declared types.
  const ajv = new Ajv({ coerceTypes, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
  addFormats.default(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
const coercingAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema as object);

const FASTIFY_CODES: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'MALFORMED_JSON', message: 'body must not be empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_CONTENT_LENGTH' },
};

/** The path of the first string in `value` that holds a NUL character (PostgreSQL text cannot store one). */
export function findNul(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? at : undefined;
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const found = findNul(key, at) ?? findNul(inner, `${at}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('preValidation', async (request) => {
    const field = findNul(request.body, 'body');
    if (field) throw new AppError(400, 'VALIDATION_FAILED', `${field} must not contain NUL characters`, field);
  });
  app.setSchemaErrorFormatter((errors, part) => {
    const first = errors[0];
    const { field, message } = first
      ? describeValidationError(part, first)
      : { field: part, message: `${part} is invalid` };
    return Object.assign(new AppError(400, 'VALIDATION_FAILED', message, field), { validation: errors });
  });

  app.setErrorHandler((err: FastifyError | AppError | SyntaxError, request, reply) => {
    let status = 500;
    let code = 'INTERNAL';
    let message = 'internal error';
    let field: string | undefined;
    if (err instanceof AppError) {
      ({ statusCode: status, code, message, field } = err);
      reply.headers(err.headers);
    } else if (err instanceof NotFoundError) {
      // findOneOrFail on a row that vanished between the check and the read.
      [status, code, message] = [404, 'NOT_FOUND', 'not found'];
    } else if ('code' in err && err.code && FASTIFY_CODES[err.code]) {
      const known = FASTIFY_CODES[err.code]!;
      ({ status, code } = known);
      message = known.message ?? err.message;
    } else if ('statusCode' in err && err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = ('code' in err && err.code) || 'BAD_REQUEST';
      message = err.message;
    }
    if (status >= 500) request.log.error({ err }, 'request failed');
    return reply.status(status).send({ error: { code, message, ...(field ? { field } : {}), requestId: request.id } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${loggablePath(request.url)}`,
        requestId: request.id,
      },
    }),
  );
}
