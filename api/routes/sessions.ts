import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import { LockMode } from '@mikro-orm/core';
import { Type } from 'typebox';
import { LoginThrottle, Session, User } from '../../db/entities/index.ts';
import { accountFailure, checkAccount, checkIp, ipFailure, type ThrottleState } from '../../domain/login-throttle.ts';
import { audit } from '../../lib/audit.ts';
import { decoyVerify, newToken, sha256, verifyPassword } from '../../lib/secrets.ts';
import { AppError, tooManyRequests } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Email, ErrorResponse, Strict, Timestamp, UserView } from '../schemas.ts';
import { userView } from '../views.ts';

export const SessionGrant = Type.Object({ token: Type.String(), expiresAt: Timestamp });

export async function createSession(em: EntityManager, userId: string, ttlMs: number) {
  const token = newToken('session');
  const expiresAt = new Date(Date.now() + ttlMs);
  em.create(Session, { user: userId, tokenHash: sha256(token), expiresAt });
  return { token, expiresAt: expiresAt.toISOString() };
}

const toState = (row: LoginThrottle | null): ThrottleState | null =>
  row && {
    failures: row.failures,
    windowStartedAt: row.windowStartedAt,
    nextAllowedAt: row.nextAllowedAt ?? null,
    lockedUntil: row.lockedUntil ?? null,
  };

export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, config } = app.deps;
  const policy = config.auth.loginThrottle;

  app.post(
    '/sessions',
    {
      config: { public: true },
      schema: {
        tags: ['sessions'],
        summary: 'Sign in with e-mail and password',
        description:
          'Returns a session bearer token. Repeated failures slow further attempts (429 with Retry-After) and then lock the account for a while.',
        body: Strict({ email: Email, password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 201: Type.Object({ session: SessionGrant, user: UserView }), ...commonErrors, 401: ErrorResponse },
      },
    },
    async (request, reply) => {
      const email = request.body.email.toLowerCase();
      const ipKey = `ip:${sha256(request.ip)}`;
      const accountKey = `acct:${sha256(email)}`;
      const now = new Date();

      // Decide inside one transaction that holds the account's counter row, so parallel guesses queue up.
      const outcome = await orm.em.transactional(async (em) => {
        const [ipRow, accountRow] = await Promise.all([
          em.findOne(LoginThrottle, ipKey),
          em.findOne(LoginThrottle, accountKey, { lockMode: LockMode.PESSIMISTIC_WRITE }),
        ]);
        for (const verdict of [checkIp(toState(ipRow), now, policy), checkAccount(toState(accountRow), now)]) {
          if (!verdict.allowed) {
            audit(em, { action: 'auth.sign_in.throttled', requestId: request.id, details: { reason: verdict.reason } });
            return { kind: 'refused' as const, verdict };
          }
        }
        const user = await em.findOne(User, { email });
        const ok = user?.passwordHash
          ? await verifyPassword(request.body.password, user.passwordHash)
          : await decoyVerify(request.body.password, config.auth.bcryptCost);
        if (ok && user) {
          if (accountRow) em.remove(accountRow);
          audit(em, {
            action: 'auth.sign_in.succeeded',
            actorId: user.id,
            targetType: 'user',
            targetId: user.id,
            requestId: request.id,
          });
          return { kind: 'ok' as const, user, session: await createSession(em, user.id, config.auth.sessionTtlMs) };
        }
        const next = accountFailure(toState(accountRow), now, policy);
        await em.upsert(LoginThrottle, { key: accountKey, ...next.state, updatedAt: now });
        await em.upsert(LoginThrottle, { key: ipKey, ...ipFailure(toState(ipRow), now, policy), updatedAt: now });
        audit(em, {
          action: 'auth.sign_in.failed',
          actorId: user?.id ?? null,
          targetType: user ? 'user' : undefined,
          targetId: user?.id,
          requestId: request.id,
          details: { failures: next.state.failures },
        });
        if (next.locked) {
          audit(em, {
            action: 'auth.lockout',
            actorId: user?.id ?? null,
            targetType: 'user',
            targetId: user?.id,
            requestId: request.id,
          });
          return { kind: 'locked' as const, retryAfterMs: policy.lockoutMs };
        }
        return { kind: 'failed' as const };
      });

      switch (outcome.kind) {
        case 'ok':
          return reply.status(201).send({ session: outcome.session, user: userView(outcome.user) });
        case 'refused': {
          const { reason, retryAfterMs } = outcome.verdict as { reason: string; retryAfterMs: number };
          const [code, message] =
            reason === 'locked'
              ? ['ACCOUNT_LOCKED', 'too many failed sign-ins; this account is locked for a while']
              : reason === 'ip'
                ? ['IP_THROTTLED', 'too many failed sign-ins from this address']
                : ['SIGN_IN_THROTTLED', 'too many failed sign-ins; wait before trying again'];
          throw tooManyRequests(code, message, retryAfterMs);
        }
        case 'locked':
          throw tooManyRequests(
            'ACCOUNT_LOCKED',
            'too many failed sign-ins; this account is locked for a while',
            outcome.retryAfterMs,
          );
        default:
          throw new AppError(401, 'INVALID_CREDENTIALS', 'e-mail or password is wrong');
      }
    },
  );

  app.delete(
    '/sessions/current',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Sign out (revoke the session used for this request)',
        security: bearerSecurity,
        response: { 204: Type.Null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.kind !== 'session')
        throw new AppError(400, 'NOT_A_SESSION', 'this request was made with an API token; revoke it under /v1/tokens');
      await orm.em.transactional(async (em) => {
        await em.nativeUpdate(Session, { id: principal.credentialId, revokedAt: null }, { revokedAt: new Date() });
        audit(em, {
          action: 'auth.signed_out',
          actorId: principal.userId,
          targetType: 'session',
          targetId: principal.credentialId,
          requestId: request.id,
        });
      });
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Sign out everywhere (revoke every session of this account)',
        description: 'API tokens are not affected; revoke those under /v1/tokens.',
        security: bearerSecurity,
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...commonErrors },
      },
    },
    async (request) => {
      const { userId } = principalOf(request);
      return orm.em.transactional(async (em) => {
        const revoked = await em.nativeUpdate(Session, { user: userId, revokedAt: null }, { revokedAt: new Date() });
        audit(em, {
          action: 'auth.signed_out_everywhere',
          actorId: userId,
          targetType: 'user',
          targetId: userId,
          requestId: request.id,
          details: { revoked },
        });
        return { revoked };
      });
    },
  );
};
