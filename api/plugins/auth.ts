import { RequestContext } from '@mikro-orm/core';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiToken, Membership, Session } from '../../db/entities/index.ts';
import { atLeast, type Role } from '../../domain/roles.ts';
import { sha256, tokenKind } from '../../lib/secrets.ts';
import { forbidden, notFound, unauthenticated } from '../errors.ts';

const API_TOKEN_TOUCH_MS = 60_000;

/**
 * Resolves the bearer token of every /v1 route before its body is parsed, so an anonymous caller
 * gets 401 without any input being read. Each request gets its own ORM context.
 */
export const authPlugin = fp(async (app) => {
  const { orm } = app.deps;
  app.addHook('onRequest', (_req, _reply, done) => RequestContext.create(orm.em, done));

  app.addHook('onRequest', async (request) => {
    const url = request.routeOptions.url;
    if (!url?.startsWith('/v1/') || request.routeOptions.config.public) return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const kind = token ? tokenKind(token) : undefined;
    if (!token || (kind !== 'session' && kind !== 'api')) throw unauthenticated();
    const now = new Date();
    const tokenHash = sha256(token);
    if (kind === 'session') {
      const session = await orm.em.findOne(Session, { tokenHash });
      if (!session || session.revokedAt || session.expiresAt <= now)
        throw unauthenticated('session is invalid or expired');
      request.principal = { userId: session.user, kind, credentialId: session.id };
    } else {
      const apiToken = await orm.em.findOne(ApiToken, { tokenHash });
      if (!apiToken || apiToken.revokedAt || (apiToken.expiresAt && apiToken.expiresAt <= now)) {
        throw unauthenticated('API token is invalid, revoked or expired');
      }
      request.principal = { userId: apiToken.user, kind, credentialId: apiToken.id };
      if (!apiToken.lastUsedAt || now.getTime() - apiToken.lastUsedAt.getTime() > API_TOKEN_TOUCH_MS) {
        await orm.em.nativeUpdate(ApiToken, { id: apiToken.id }, { lastUsedAt: now });
      }
    }
  });
});

export function principalOf(request: FastifyRequest) {
  if (!request.principal) throw unauthenticated();
  return request.principal;
}

/**
 * The caller's membership of a workspace. A non-member gets 404 (the workspace's existence is not
 * revealed); a member below `minimum` gets 403.
 */
export async function requireRole(request: FastifyRequest, workspaceId: string, minimum: Role = 'member') {
  const { userId } = principalOf(request);
  const membership = await request.server.deps.orm.em.findOne(Membership, { workspace: workspaceId, user: userId });
  if (!membership) throw notFound('workspace');
  if (!atLeast(membership.role, minimum)) throw forbidden(`this needs the ${minimum} role or higher`);
  return membership;
}
