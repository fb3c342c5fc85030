import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiToken } from '../../db/entities/index.ts';
import { DAY } from '../../domain/policy.ts';
import { audit } from '../../lib/audit.ts';
import { newToken, sha256 } from '../../lib/secrets.ts';
import { notFound } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Strict, Timestamp, Uuid } from '../schemas.ts';
import { tokenView } from '../views.ts';

const TokenView = Type.Object({
  id: Uuid,
  name: Type.String(),
  hint: Type.String({ description: 'The first characters of the token' }),
  createdAt: Timestamp,
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});

export const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm } = app.deps;
  const tags = ['tokens'];

  app.post(
    '/tokens',
    {
      schema: {
        tags,
        summary: 'Create an API token (shown once)',
        security: bearerSecurity,
        body: Strict({
          name: Type.String({ minLength: 1, maxLength: 100 }),
          expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'Omit for no expiry' })),
        }),
        response: { 201: Type.Object({ ...TokenView.properties, token: Type.String() }), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const token = newToken('api');
      const { expiresInDays } = request.body;
      const created = await orm.em.transactional(async (em) => {
        const row = em.create(ApiToken, {
          user: userId,
          name: request.body.name,
          tokenHash: sha256(token),
          hint: token.slice(0, 10),
          expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * DAY) : null,
        });
        await em.flush();
        audit(em, {
          action: 'token.created',
          actorId: userId,
          targetType: 'api_token',
          targetId: row.id,
          requestId: request.id,
        });
        return row;
      });
      return reply.status(201).send({ ...tokenView(created), token });
    },
  );

  app.get(
    '/tokens',
    {
      schema: {
        tags,
        summary: "List the account's API tokens",
        security: bearerSecurity,
        response: { 200: Type.Array(TokenView), ...commonErrors },
      },
    },
    async (request) => {
      const rows = await orm.em.find(
        ApiToken,
        { user: principalOf(request).userId },
        { orderBy: { createdAt: 'desc' } },
      );
      return rows.map(tokenView);
    },
  );

  app.delete(
    '/tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Revoke an API token',
        security: bearerSecurity,
        params: Strict({ tokenId: Uuid }),
        response: { 204: Type.Null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      await orm.em.transactional(async (em) => {
        const row = await em.findOne(ApiToken, { id: request.params.tokenId, user: userId });
        if (!row) throw notFound('token');
        if (!row.revokedAt) {
          row.revokedAt = new Date();
          audit(em, {
            action: 'token.revoked',
            actorId: userId,
            targetType: 'api_token',
            targetId: row.id,
            requestId: request.id,
          });
        }
      });
      return reply.status(204).send(null);
    },
  );
};
