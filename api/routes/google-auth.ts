import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { stateAad } from '../../activities/connections.ts';
import { OAuthState, User, UserIdentity } from '../../db/entities/index.ts';
import { audit } from '../../lib/audit.ts';
import { sha256 } from '../../lib/secrets.ts';
import { decryptSecret, encryptSecret } from '../../lib/vault.ts';
import { PlatformError } from '../../platforms/errors.ts';
import { createGoogleSignIn, type GoogleIdentity } from '../../platforms/google-signin.ts';
import { pkceChallenge } from '../../platforms/http.ts';
import { AppError, unavailable } from '../errors.ts';
import { ErrorResponse, Timestamp, UserView } from '../schemas.ts';
import { userView } from '../views.ts';
import { createSession, SessionGrant } from './sessions.ts';

const badState = (message: string) => new AppError(400, 'INVALID_STATE', message, 'querystring.state');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export const googleAuthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, config } = app.deps;
  const google = createGoogleSignIn(config.googleSignIn);
  const redirectUri = `${config.publicUrl}/v1/auth/google/callback`;
  const tags = ['sessions'];

  app.post(
    '/auth/google/start',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Start signing in with Google',
        description:
          'OIDC authorization-code flow with PKCE (S256), state and nonce, all kept server-side and single use. Send the browser to `authorizeUrl`.',
        response: { 201: Type.Object({ authorizeUrl: Type.String(), expiresAt: Timestamp }) },
      },
    },
    async (_request, reply) => {
      const state = randomBytes(32).toString('base64url');
      const nonce = randomBytes(24).toString('base64url');
      const verifier = randomBytes(48).toString('base64url');
      const id = randomUUID();
      const expiresAt = new Date(Date.now() + config.oauthStateTtlMs);
      const em = orm.em.fork();
      em.create(OAuthState, {
        id,
        purpose: 'sign_in',
        stateHash: sha256(state),
        provider: 'google',
        nonceHash: sha256(nonce),
        verifierCiphertext: encryptSecret(config.keyRing, verifier, stateAad(id, 'verifier')),
        expiresAt,
      });
      await em.flush();
      const authorizeUrl = google.authorizeUrl({ state, nonce, codeChallenge: pkceChallenge(verifier), redirectUri });
      return reply.code(201).send({ authorizeUrl, expiresAt: expiresAt.toISOString() });
    },
  );

  app.get(
    '/auth/google/callback',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Google redirects here; answers with a session',
        description:
          'Verifies the id token (signature, issuer, audience, expiry, nonce). An existing account is linked only when Google says the address is verified.',
        querystring: Type.Object({
          state: Type.String({ minLength: 16, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' }),
          code: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^[\\x21-\\x7e]+$' })),
          error: Type.Optional(Type.String({ maxLength: 200 })),
        }),
        response: {
          201: Type.Object({ session: SessionGrant, user: UserView, created: Type.Boolean(), linked: Type.Boolean() }),
          400: ErrorResponse,
          403: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { state, code, error } = request.query;
      if (!code && !error)
        throw new AppError(400, 'VALIDATION_FAILED', 'querystring.code is required', 'querystring.code');
      const em = orm.em.fork();
      const row = await em.findOne(OAuthState, { stateHash: sha256(state), purpose: 'sign_in' });
      if (!row?.verifierCiphertext || !row.nonceHash) throw badState('this sign-in link is not one Switchboard issued');
      const taken = await em
        .getConnection()
        .execute(
          'update oauth_states set consumed_at = now() where id = ? and consumed_at is null and expires_at > now()',
          [row.id],
          'run',
        );
      if ((taken as { affectedRows?: number }).affectedRows !== 1) {
        throw badState('this sign-in link was already used or has expired; start again');
      }
      if (error || !code) throw new AppError(400, 'PLATFORM_DENIED', 'Google did not sign you in', 'querystring.error');
      const nonceHash = row.nonceHash;
      let identity: GoogleIdentity;
      try {
        identity = await google.signIn({
          code,
          codeVerifier: decryptSecret(config.keyRing, row.verifierCiphertext, stateAad(row.id, 'verifier')),
          nonceOk: (nonce) => sameHash(sha256(nonce), nonceHash),
          redirectUri,
        });
      } catch (err) {
        if (err instanceof PlatformError && err.kind !== 'transient' && err.kind !== 'rate_limited') {
          throw new AppError(400, 'GOOGLE_SIGN_IN_FAILED', err.message.slice(0, 300));
        }
        throw unavailable('Google did not answer; try again');
      }

      const result = await em.transactional(async (tx) => {
        let created = false;
        let linked = false;
        const known = await tx.findOne(UserIdentity, { provider: 'google', subject: identity.subject });
        let user = known ? await tx.findOne(User, known.user) : null;
        if (!user) {
          // Only an address Google has verified may claim an existing account or found a new one.
          if (!identity.emailVerified) {
            throw new AppError(403, 'EMAIL_NOT_VERIFIED', 'Google has not verified this e-mail address');
          }
          user = await tx.findOne(User, { email: identity.email });
          if (user) linked = true;
          else {
            user = tx.create(User, {
              id: randomUUID(),
              email: identity.email,
              name: identity.name.slice(0, 200),
              passwordHash: null,
            });
            created = true;
            audit(tx, {
              action: 'account.created',
              actorId: user.id,
              targetType: 'user',
              targetId: user.id,
              requestId: request.id,
            });
          }
          tx.create(UserIdentity, { user: user.id, provider: 'google', subject: identity.subject });
          if (linked) {
            audit(tx, {
              action: 'auth.google.linked',
              actorId: user.id,
              targetType: 'user',
              targetId: user.id,
              requestId: request.id,
            });
          }
        }
        if (user.pendingDeletionId) {
          // No restore through Google: compliance staff can restore it within the grace.
          throw new AppError(
            403,
            'ACCOUNT_PENDING_DELETION',
            'this account is being deleted; ask support to restore it within the grace period',
          );
        }
        audit(tx, {
          action: 'auth.google.signed_in',
          actorId: user.id,
          targetType: 'user',
          targetId: user.id,
          requestId: request.id,
        });
        const session = await createSession(tx, user.id, config.auth.sessionTtlMs);
        return { session, user: userView(user), created, linked };
      });
      return reply.code(201).send(result);
    },
  );
};
