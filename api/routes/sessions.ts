import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import { Type } from 'typebox';
import { LoginThrottle, Session, User } from '../../db/entities/index.ts';
import {
  accountFailure,
  checkAccount,
  checkIp,
  ipFailure,
  type ThrottleState,
  type Verdict,
} from '../../domain/login-throttle.ts';
import { defaultPolicy } from '../../domain/policy.ts';
import { audit } from '../../lib/audit.ts';
import { decoyVerify, newToken, sha256, utf8Bytes, verifyPassword } from '../../lib/secrets.ts';
import { deletionUpdateFailure, restoreAccount } from '../../workflows/deletion.client.ts';
import { AppError, conflict, tooManyRequests } from '../errors.ts';
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

const REFUSALS = {
  locked: ['ACCOUNT_LOCKED', 'too many failed sign-ins; this account is locked for a while'],
  throttled: ['SIGN_IN_THROTTLED', 'too many failed sign-ins; wait before trying again'],
  ip: ['IP_THROTTLED', 'too many failed sign-ins from this address'],
} as const;
const refusal = (reason: keyof typeof REFUSALS, retryAfterMs: number) =>
  tooManyRequests(REFUSALS[reason][0], REFUSALS[reason][1], retryAfterMs);

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
        body: Strict({
          email: Email,
          password: Type.String({ minLength: 1, maxLength: 1024 }),
          restore: Type.Optional(
            Type.Boolean({ description: 'Restore an account that is in its deletion grace (cancels the purge).' }),
          ),
        }),
        response: { 201: Type.Object({ session: SessionGrant, user: UserView }), ...commonErrors, 401: ErrorResponse },
      },
    },
    async (request, reply) => {
      const email = request.body.email.toLowerCase();
      const { password } = request.body;
      const ipKey = `ip:${sha256(request.ip)}`;
      const accountKey = `acct:${sha256(email)}`;
      const now = new Date();

      // 1. Reserve the attempt: under per-key advisory locks, held only for this short transaction,
      //    refuse a throttled caller, else count the attempt as a failure in advance. Parallel
      //    guesses queue here and each uses up a slot before any password is checked.
      const reservation = await orm.em.transactional(async (em) => {
        for (const key of [accountKey, ipKey].sort()) {
          await em.execute('select pg_advisory_xact_lock(hashtext(?))', [key]);
        }
        const [ipRow, accountRow] = await Promise.all([
          em.findOne(LoginThrottle, ipKey),
          em.findOne(LoginThrottle, accountKey),
        ]);
        for (const verdict of [checkIp(toState(ipRow), now, policy), checkAccount(toState(accountRow), now)]) {
          if (!verdict.allowed) {
            audit(em, { action: 'auth.sign_in.throttled', requestId: request.id, details: { reason: verdict.reason } });
            return { refused: verdict };
          }
        }
        const next = accountFailure(toState(accountRow), now, policy);
        await em.upsert(LoginThrottle, { key: accountKey, ...next.state, updatedAt: now });
        await em.upsert(LoginThrottle, { key: ipKey, ...ipFailure(toState(ipRow), now, policy), updatedAt: now });
        return { next };
      });
      if ('refused' in reservation) {
        const { reason, retryAfterMs } = reservation.refused as Exclude<Verdict, { allowed: true }>;
        throw refusal(reason, retryAfterMs);
      }

      // 2. Check the password with no transaction or connection held (bcrypt is slow). Unknown
      //    accounts and over-long passwords cost the same decoy comparison, so timing tells nothing.
      const user = await orm.em.fork().findOne(User, { email });
      const ok =
        user?.passwordHash && utf8Bytes(password) <= defaultPolicy.passwordMaxBytes
          ? await verifyPassword(password, user.passwordHash)
          : await decoyVerify(password, config.auth.bcryptCost);

      // An account in its deletion grace signs in only to restore it: the purge is cancelled first.
      if (ok && user?.pendingDeletionId) {
        if (!request.body.restore) {
          throw new AppError(
            403,
            'ACCOUNT_PENDING_DELETION',
            'this account is being deleted; sign in with "restore": true within the grace period to keep it',
          );
        }
        try {
          await restoreAccount(app.deps.temporal, user.pendingDeletionId, { byUserId: user.id });
        } catch (err) {
          if (deletionUpdateFailure(err) === 'NotInGrace') {
            throw conflict('DELETION_IN_PROGRESS', 'the recovery grace is over; the account is being purged');
          }
          throw err;
        }
      }

      // 3. Record the outcome.
      const outcome = await orm.em.transactional(async (em) => {
        if (ok && user) {
          // The attempt was counted in advance: success clears the account's count and gives the IP its slot back.
          await em.nativeDelete(LoginThrottle, { key: accountKey });
          await em.execute('update login_throttles set failures = greatest(failures - 1, 0) where key = ?', [ipKey]);
          audit(em, {
            action: 'auth.sign_in.succeeded',
            actorId: user.id,
            targetType: 'user',
            targetId: user.id,
            requestId: request.id,
          });
          return { session: await createSession(em, user.id, config.auth.sessionTtlMs) };
        }
        const target = user ? { actorId: user.id, targetType: 'user', targetId: user.id } : {};
        audit(em, {
          action: 'auth.sign_in.failed',
          ...target,
          requestId: request.id,
          details: { failures: reservation.next.state.failures },
        });
        if (reservation.next.locked) audit(em, { action: 'auth.lockout', ...target, requestId: request.id });
        return { session: undefined };
      });
      if (outcome.session && user) return reply.status(201).send({ session: outcome.session, user: userView(user) });
      if (reservation.next.locked) throw refusal('locked', policy.lockoutMs);
      throw new AppError(401, 'INVALID_CREDENTIALS', 'e-mail or password is wrong');
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
