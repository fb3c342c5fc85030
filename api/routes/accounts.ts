import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Type } from 'typebox';
import { User } from '../../db/entities/index.ts';
import { defaultPolicy } from '../../domain/policy.ts';
import { audit } from '../../lib/audit.ts';
import { hashPassword, utf8Bytes } from '../../lib/secrets.ts';
import { AppError, conflict } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Email, ErrorResponse, Strict, UserView } from '../schemas.ts';
import { userView } from '../views.ts';
import { createSession, SessionGrant } from './sessions.ts';

export const Password = Type.String({
  minLength: defaultPolicy.passwordMinChars,
  maxLength: defaultPolicy.passwordMaxBytes,
  description: `${defaultPolicy.passwordMinChars} characters or more, at most ${defaultPolicy.passwordMaxBytes} bytes in UTF-8 (bcrypt's limit)`,
});

/** Character limits can't express bcrypt's byte limit, so multi-byte passwords are checked here. */
export function assertPasswordFits(password: string, field = 'body.password'): void {
  if (utf8Bytes(password) > defaultPolicy.passwordMaxBytes) {
    throw new AppError(
      400,
      'VALIDATION_FAILED',
      `${field} must be at most ${defaultPolicy.passwordMaxBytes} bytes in UTF-8 (bcrypt ignores anything longer)`,
      field,
    );
  }
}

export const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, config } = app.deps;

  app.post(
    '/accounts',
    {
      config: { public: true },
      schema: {
        tags: ['accounts'],
        summary: 'Sign up with e-mail and password',
        body: Strict({ email: Email, password: Password, name: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 201: Type.Object({ user: UserView, session: SessionGrant }), ...commonErrors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { password, name } = request.body;
      const email = request.body.email.toLowerCase();
      assertPasswordFits(password);
      const passwordHash = await hashPassword(password, config.auth.bcryptCost);
      try {
        const result = await orm.em.transactional(async (em) => {
          const user = em.create(User, { email, name, passwordHash });
          await em.flush();
          audit(em, {
            action: 'account.created',
            actorId: user.id,
            targetType: 'user',
            targetId: user.id,
            requestId: request.id,
          });
          return { user: userView(user), session: await createSession(em, user.id, config.auth.sessionTtlMs) };
        });
        return reply.status(201).send(result);
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) {
          throw conflict('EMAIL_TAKEN', 'an account with this e-mail address exists; sign in instead', 'body.email');
        }
        throw err;
      }
    },
  );

  app.get(
    '/me',
    {
      schema: {
        tags: ['accounts'],
        summary: 'The signed-in account',
        security: bearerSecurity,
        response: { 200: UserView, ...commonErrors },
      },
    },
    async (request) => userView(await orm.em.findOneOrFail(User, principalOf(request).userId)),
  );
};
