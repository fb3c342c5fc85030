import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { PlatformError } from './errors.ts';
import { asRecord, callPlatform, oauthError, url } from './http.ts';
import type { AdapterConfig } from './types.ts';

// Sign-in with Google (OIDC authorization-code flow with PKCE, state and nonce). Not a platform
// adapter: it only proves who the person is. The id token is verified here (RS256 against Google's
// published keys, issuer, audience, expiry, nonce) before anything trusts it.

const HOSTS = {
  accounts: 'https://accounts.google.com',
  oauth: 'https://oauth2.googleapis.com',
  certs: 'https://www.googleapis.com',
};
const ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

export interface GoogleIdentity {
  subject: string;
  email: string;
  emailVerified: boolean;
  name: string;
}

export function createGoogleSignIn(cfg: AdapterConfig) {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const call = (req: Parameters<typeof callPlatform>[2]) =>
    callPlatform('google', cfg.timeoutMs, req, (res) => oauthError('google', res));

  async function keys(): Promise<JsonWebKey[]> {
    const res = await call({ url: url(host('certs'), '/oauth2/v3/certs') });
    return (asRecord(res.body).keys as JsonWebKey[] | undefined) ?? [];
  }

  async function verifyIdToken(
    idToken: string,
    nonceOk: (nonce: string) => boolean,
    nowMs = Date.now(),
  ): Promise<GoogleIdentity> {
    const [head = '', body = '', sig = ''] = idToken.split('.');
    const parse = (part: string) => {
      try {
        return asRecord(JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
      } catch {
        return {};
      }
    };
    const header = parse(head);
    const claims = parse(body);
    const invalid = (why: string) => new PlatformError('google', 'permanent', `Google id token rejected: ${why}`);
    if (header.alg !== 'RS256') throw invalid('algorithm');
    const jwk = (await keys()).find((k) => (k as { kid?: string }).kid === header.kid);
    if (!jwk) throw invalid('unknown signing key');
    const ok = verify(
      'RSA-SHA256',
      Buffer.from(`${head}.${body}`),
      createPublicKey({ key: jwk, format: 'jwk' }),
      Buffer.from(sig, 'base64url'),
    );
    if (!ok) throw invalid('signature');
    if (!ISSUERS.includes(String(claims.iss))) throw invalid('issuer');
    if (claims.aud !== cfg.clientId) throw invalid('audience');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 < nowMs) throw invalid('expired');
    if (typeof claims.nonce !== 'string' || !nonceOk(claims.nonce)) throw invalid('nonce');
    if (typeof claims.sub !== 'string' || typeof claims.email !== 'string') throw invalid('claims');
    return {
      subject: claims.sub,
      email: claims.email.toLowerCase(),
      emailVerified: claims.email_verified === true,
      name: typeof claims.name === 'string' ? claims.name : claims.email,
    };
  }

  return {
    authorizeUrl(p: { state: string; nonce: string; codeChallenge: string; redirectUri: string }): string {
      return url(host('accounts'), '/o/oauth2/v2/auth', {
        client_id: cfg.clientId,
        redirect_uri: p.redirectUri,
        response_type: 'code',
        scope: 'openid email profile',
        state: p.state,
        nonce: p.nonce,
        code_challenge: p.codeChallenge,
        code_challenge_method: 'S256',
      });
    },

    /** Code → verified identity. The tokens themselves are not kept: sign-in needs none. */
    async signIn(p: {
      code: string;
      codeVerifier: string;
      nonceOk: (nonce: string) => boolean;
      redirectUri: string;
    }): Promise<GoogleIdentity> {
      const res = await call({
        method: 'POST',
        url: url(host('oauth'), '/token'),
        form: {
          grant_type: 'authorization_code',
          code: p.code,
          redirect_uri: p.redirectUri,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          code_verifier: p.codeVerifier,
        },
      });
      const idToken = asRecord(res.body).id_token;
      if (typeof idToken !== 'string') throw new PlatformError('google', 'permanent', 'Google sent no id token');
      return verifyIdToken(idToken, p.nonceOk);
    },
  };
}

export type GoogleSignIn = ReturnType<typeof createGoogleSignIn>;
