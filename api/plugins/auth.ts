import { RequestContext } from '@mikro-orm/core';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { User } from '../../db/entities/index.ts';
import { defaultPolicy } from '../../domain/policy.ts';
import { atLeast, type Role } from '../../domain/roles.ts';
import { decoyVerify, sha256, tokenKind, utf8Bytes, verifyPassword } from '../../lib/secrets.ts';
import { AppError, forbidden, notFound, unauthenticated } from '../errors.ts';

const API_TOKEN_TOUCH_MS = 60_000;

// The credential and membership lookups run on every authenticated request, so they are plain SQL:
// entity hydration would cost about three times the CPU of the query itself.
interface CredentialRow {
  id: string;
  user_id: string;
  expires_at: Date | null;
  revoked_at: Date | null;
}

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
    const table = kind === 'session' ? 'sessions' : 'api_tokens';
    const rows = await orm.em
      .getConnection()
      .execute(`select id, user_id, expires_at, revoked_at from ${table} where token_hash = ?`, [sha256(token)]);
    const credential = rows[0] as CredentialRow | undefined;
    if (!credential || credential.revoked_at || (credential.expires_at && credential.expires_at <= now)) {
      throw unauthenticated(
        kind === 'session' ? 'session is invalid or expired' : 'API token is invalid, revoked or expired',
      );
    }
    request.principal = { userId: credential.user_id, kind, credentialId: credential.id };
    if (kind === 'api') {
      // Touch lastUsedAt at most once a minute per token, not on every request.
      await orm.em
        .getConnection()
        .execute('update api_tokens set last_used_at = ? where id = ? and (last_used_at is null or last_used_at < ?)', [
          now,
          credential.id,
          new Date(now.getTime() - API_TOKEN_TOUCH_MS),
        ]);
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
  const [row] = await request.server.deps.orm.em
    .getConnection()
    .execute('select role from memberships where workspace_id = ? and user_id = ?', [workspaceId, userId]);
  if (!row) throw notFound('workspace');
  const role = row.role as Role;
  if (!atLeast(role, minimum)) throw forbidden(`this needs the ${minimum} role or higher`);
  return { workspace: workspaceId, user: userId, role };
}

/**
 * Step-up for destructive or data-revealing actions (account deletion, exports): a signed-in session,
 * not an API token, and the password again; an account without one (Google sign-in only) must have
 * signed in within the last 15 minutes.
 */
export async function stepUp(request: FastifyRequest, password: string | undefined): Promise<void> {
  const principal = principalOf(request);
  if (principal.kind !== 'session') throw forbidden('this needs a signed-in session, not an API token');
  const { orm, config } = request.server.deps;
  const user = await orm.em.fork().findOneOrFail(User, principal.userId);
  if (user.passwordHash) {
    const given = password ?? '';
    const ok =
      given && utf8Bytes(given) <= defaultPolicy.passwordMaxBytes
        ? await verifyPassword(given, user.passwordHash)
        : await decoyVerify(given || 'x', config.auth.bcryptCost);
    if (!ok) throw new AppError(401, 'INVALID_CREDENTIALS', 'the password is wrong', 'body.password');
    return;
  }
  const [row] = await orm.em
    .getConnection()
    .execute('select created_at from sessions where id = ?', [principal.credentialId]);
  if (!row || Date.now() - new Date(row.created_at).getTime() > RECENT_SIGN_IN_MS) {
    throw new AppError(403, 'REAUTHENTICATION_REQUIRED', 'sign in again (with Google) and retry within 15 minutes');
  }
}

const RECENT_SIGN_IN_MS = 15 * 60_000;
