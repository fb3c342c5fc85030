import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../lib/secrets.ts';
import {
  bearer,
  createTestSystem,
  PASSWORD,
  sendInvitation,
  signUp,
  sql,
  type TestSystem,
  uniqueEmail,
} from '../helpers.ts';

let sys: TestSystem;
beforeAll(async () => {
  sys = await createTestSystem({
    LOGIN_FREE_ATTEMPTS: '2',
    LOGIN_BASE_DELAY_MS: '60000',
    LOGIN_LOCKOUT_THRESHOLD: '4',
    LOGIN_LOCKOUT_MINUTES: '15',
    LOGIN_IP_MAX_FAILURES: '5',
  });
});
afterAll(() => sys.close());

const signIn = (email: string, password: string, ip: string) =>
  sys.app.inject({ method: 'POST', url: '/v1/sessions', payload: { email, password }, remoteAddress: ip });

/** Every text-like column of every table, as one string per row, for scanning. */
async function allStoredText(): Promise<string> {
  const columns = await sql<{ table_name: string; column_name: string }>(
    sys.orm,
    `select table_name, column_name from information_schema.columns
     where table_schema = 'public' and data_type in ('text', 'character varying', 'jsonb', 'json')`,
  );
  const parts: string[] = [];
  for (const { table_name, column_name } of columns) {
    const rows = await sql<{ v: string | null }>(sys.orm, `select "${column_name}"::text as v from "${table_name}"`);
    parts.push(...rows.map((r) => r.v ?? ''));
  }
  return parts.join('\n');
}

describe('accounts', () => {
  it('signs up, signs in and answers /v1/me', async () => {
    const email = uniqueEmail('alice');
    const created = await sys.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email, password: PASSWORD, name: 'Alice' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().user).not.toHaveProperty('passwordHash');
    const res = await signIn(email.toUpperCase(), PASSWORD, '10.0.0.1');
    expect(res.statusCode).toBe(201);
    const me = await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(res.json().session.token) });
    expect(me.json()).toMatchObject({ email, name: 'Alice' });
  });

  it('refuses a second account for the same address', async () => {
    const { email } = await signUp(sys.app);
    const res = await sys.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email, password: PASSWORD, name: 'x' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'EMAIL_TAKEN', field: 'body.email' });
  });

  it('stores passwords and tokens only as hashes', async () => {
    const password = `unique pass ${Math.random()}`;
    const email = uniqueEmail('hash');
    const signup = await sys.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email, password, name: 'H' },
    });
    const session = signup.json().session.token as string;
    const api = (
      await sys.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(session), payload: { name: 'ci' } })
    ).json().token as string;
    const ws = (
      await sys.app.inject({ method: 'POST', url: '/v1/workspaces', headers: bearer(session), payload: { name: 'W' } })
    ).json().id;
    await sys.startWorker();
    const invite = await sendInvitation(sys.app, session, ws, uniqueEmail('inv'), 'member');
    const invitationToken = invite.json().token as string;

    const stored = await allStoredText();
    for (const secret of [password, session, api, invitationToken]) {
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(secret.slice(4, 24));
    }
    for (const token of [session, api, invitationToken]) expect(stored).toContain(sha256(token));
    const [user] = await sql<{ password_hash: string }>(sys.orm, 'select password_hash from users where email = ?', [
      email,
    ]);
    expect(user?.password_hash).toMatch(/^\$2[aby]\$10\$/);
  });

  it('refuses passwords over 72 bytes, naming the field', async () => {
    const res = await sys.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email: uniqueEmail(), password: 'ü'.repeat(37), name: 'x' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.password' });
    expect(res.json().error.message).toMatch(/72 bytes/);
  });
});

describe('sign-in throttling', () => {
  it('slows an account down with 429 and Retry-After after the free attempts', async () => {
    const { email } = await signUp(sys.app, 'slow');
    const ip = '10.0.1.1';
    expect((await signIn(email, 'wrong password 1', ip)).statusCode).toBe(401);
    expect((await signIn(email, 'wrong password 2', ip)).statusCode).toBe(401);
    expect((await signIn(email, 'wrong password 3', ip)).statusCode).toBe(401);
    // The third failure imposed a wait: even the right password is refused until it is over.
    const throttled = await signIn(email, PASSWORD, ip);
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error.code).toBe('SIGN_IN_THROTTLED');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(50);
    expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('locks the account after repeated failures and records the lockout', async () => {
    // No forced wait here (delay 1 ms), so the lockout threshold is what stops the guesses.
    const fast = await createTestSystem({
      LOGIN_FREE_ATTEMPTS: '0',
      LOGIN_BASE_DELAY_MS: '1',
      LOGIN_MAX_DELAY_MS: '1',
      LOGIN_LOCKOUT_THRESHOLD: '3',
    });
    try {
      const { id, email } = await signUp(fast.app, 'locked');
      const ip = '10.0.2.1';
      const attempt = () =>
        fast.app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { email, password: 'nope nope' },
          remoteAddress: ip,
        });
      expect((await attempt()).statusCode).toBe(401);
      await new Promise((r) => setTimeout(r, 5));
      expect((await attempt()).statusCode).toBe(401);
      await new Promise((r) => setTimeout(r, 5));
      const locking = await attempt();
      expect(locking.statusCode).toBe(429);
      expect(locking.json().error.code).toBe('ACCOUNT_LOCKED');
      expect(Number(locking.headers['retry-after'])).toBe(15 * 60);
      const right = await fast.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { email, password: PASSWORD },
        remoteAddress: ip,
      });
      expect(right.statusCode).toBe(429);
      expect(right.json().error.code).toBe('ACCOUNT_LOCKED');
      const events = await sql<{ action: string }>(
        fast.orm,
        'select action from audit_events where target_id = ? order by id',
        [id],
      );
      expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['auth.sign_in.failed', 'auth.lockout']));
      expect(events.filter((e) => e.action === 'auth.lockout')).toHaveLength(1);
    } finally {
      await fast.close();
    }
  });

  it('cannot be raced: parallel guesses are counted before any password is checked', async () => {
    const racy = await createTestSystem({
      LOGIN_FREE_ATTEMPTS: '100',
      LOGIN_LOCKOUT_THRESHOLD: '3',
      LOGIN_IP_MAX_FAILURES: '5',
    });
    try {
      const { email } = await signUp(racy.app, 'raced');
      const guess = (address: string, ip: string) =>
        racy.app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { email: address, password: 'wrong guess' },
          remoteAddress: ip,
        });
      const onAccount = await Promise.all(Array.from({ length: 8 }, (_, i) => guess(email, `10.9.0.${i + 1}`)));
      const statuses = onAccount.map((r) => r.statusCode).sort();
      // Two plain failures, the third locks, the rest are refused without a password check.
      expect(statuses).toEqual([401, 401, 429, 429, 429, 429, 429, 429]);
      const fromOneIp = await Promise.all(Array.from({ length: 10 }, () => guess(uniqueEmail('spray'), '10.9.1.1')));
      expect(fromOneIp.filter((r) => r.statusCode === 401)).toHaveLength(5);
      expect(fromOneIp.filter((r) => r.json().error.code === 'IP_THROTTLED')).toHaveLength(5);
    } finally {
      await racy.close();
    }
  });

  it('refuses an address that fails too often, whatever the account', async () => {
    const ip = '10.0.3.1';
    for (let i = 0; i < 5; i++) expect((await signIn(uniqueEmail('nobody'), 'whatever pw', ip)).statusCode).toBe(401);
    const refused = await signIn(uniqueEmail('nobody'), 'whatever pw', ip);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('IP_THROTTLED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is unaffected.
    expect((await signIn(uniqueEmail('nobody'), 'whatever pw', '10.0.3.2')).statusCode).toBe(401);
  });
});

describe('sessions and API tokens', () => {
  it('creates, lists and revokes API tokens; a revoked token stops working', async () => {
    const { token } = await signUp(sys.app, 'tok');
    const created = await sys.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(token),
      payload: { name: 'deploy', expiresInDays: 30 },
    });
    expect(created.statusCode).toBe(201);
    const { id, token: apiToken } = created.json();
    expect(apiToken).toMatch(/^sbt_/);
    expect((await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(apiToken) })).statusCode).toBe(200);
    const list = await sys.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(token) });
    expect(list.json()).toHaveLength(1);
    expect(list.json()[0]).not.toHaveProperty('token');
    expect(
      (await sys.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: bearer(token) })).statusCode,
    ).toBe(204);
    const after = await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(apiToken) });
    expect(after.statusCode).toBe(401);
    expect(after.headers['www-authenticate']).toBe('Bearer');
  });

  it('signs out one session, or every session at once', async () => {
    const { email, token: first } = await signUp(sys.app, 'everywhere');
    const second = (await signIn(email, PASSWORD, '10.0.4.1')).json().session.token;
    const third = (await signIn(email, PASSWORD, '10.0.4.1')).json().session.token;
    expect(
      (await sys.app.inject({ method: 'DELETE', url: '/v1/sessions/current', headers: bearer(first) })).statusCode,
    ).toBe(204);
    expect((await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(first) })).statusCode).toBe(401);
    expect((await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(second) })).statusCode).toBe(200);
    const all = await sys.app.inject({ method: 'DELETE', url: '/v1/sessions', headers: bearer(second) });
    expect(all.json()).toEqual({ revoked: 2 });
    for (const t of [second, third])
      expect((await sys.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(t) })).statusCode).toBe(401);
  });

  it('answers 401 without a token or with a malformed one', async () => {
    for (const headers of [{}, { authorization: 'Bearer nonsense' }, { authorization: 'Basic abc' }]) {
      const res = await sys.app.inject({ method: 'GET', url: '/v1/workspaces', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
  });
});
