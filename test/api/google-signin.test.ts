import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { bearer, createTestSystem, signUp, sql, type TestSystem } from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// Sign-in with Google (OIDC code flow, PKCE, state, nonce) against the simulated Google.

let sim: Simulator;
let sys: TestSystem;
beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({ SIMULATOR_URL: sim.url });
});
afterAll(async () => {
  await sys?.close();
  await sim?.close();
});

async function googleAccount(email: string, emailVerified: boolean) {
  const id = String(100_000_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e12)));
  await admin(sim, 'POST', '/google/accounts', { id, name: 'Google Person', email, emailVerified });
  await admin(sim, 'POST', '/google/consent', { accountId: id, scopes: ['openid', 'email', 'profile'] });
  return id;
}

async function signInWithGoogle() {
  const start = await sys.app.inject({ method: 'POST', url: '/v1/auth/google/start' });
  expect(start.statusCode).toBe(201);
  const authorizeUrl = new URL(start.json().authorizeUrl);
  expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorizeUrl.searchParams.get('nonce')).toBeTruthy();
  const query = await consent(authorizeUrl.toString());
  return { query, res: await sys.app.inject({ method: 'GET', url: `/v1/auth/google/callback?${query}` }) };
}

describe('sign-in with Google', () => {
  it('creates an account for a new verified address and signs it in', async () => {
    const email = `g-${Date.now()}@example.com`;
    await googleAccount(email, true);
    const { res } = await signInWithGoogle();
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ created: true, linked: false, user: { email } });
    const me = await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(res.json().session.token) });
    expect(me.json().email ?? me.json().user?.email).toBe(email);
  });

  it('links to an existing account by verified e-mail only', async () => {
    const existing = await signUp(sys.app, 'existing');
    await googleAccount(existing.email, false);
    const refused = await signInWithGoogle();
    expect(refused.res.statusCode).toBe(403);
    expect(refused.res.json().error.code).toBe('EMAIL_NOT_VERIFIED');
    expect(await sql(sys.orm, 'select id from user_identities where user_id = ?', [existing.id])).toHaveLength(0);

    await googleAccount(existing.email, true);
    const linked = await signInWithGoogle();
    expect(linked.res.statusCode).toBe(201);
    expect(linked.res.json()).toMatchObject({ created: false, linked: true, user: { id: existing.id } });
    expect(await sql(sys.orm, 'select id from user_identities where user_id = ?', [existing.id])).toHaveLength(1);
  });

  it('refuses a reused state and a wrong PKCE verifier', async () => {
    await googleAccount(`g2-${Date.now()}@example.com`, true);
    const { query, res } = await signInWithGoogle();
    expect(res.statusCode).toBe(201);
    const reused = await sys.app.inject({ method: 'GET', url: `/v1/auth/google/callback?${query}` });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().error).toMatchObject({ code: 'INVALID_STATE', field: 'querystring.state' });

    await googleAccount(`g3-${Date.now()}@example.com`, true);
    const start = await sys.app.inject({ method: 'POST', url: '/v1/auth/google/start' });
    // Swap the challenge: Google then sees a verifier that does not match it.
    const url = new URL(start.json().authorizeUrl);
    url.searchParams.set('code_challenge', 'A'.repeat(43));
    const tampered = await consent(url.toString());
    const wrong = await sys.app.inject({ method: 'GET', url: `/v1/auth/google/callback?${tampered}` });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.code).toBe('GOOGLE_SIGN_IN_FAILED');
  });
});
