import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.ts';
import { lazyClient } from '../../lib/temporal.ts';
import { bearer, createTestSystem, PASSWORD, sql, type TestSystem, uniqueEmail } from '../helpers.ts';

let sys: TestSystem;
beforeAll(async () => {
  sys = await createTestSystem();
});
afterAll(() => sys.close());

describe('request log', () => {
  it('records ip, user agent, method, path without query, status, time and user — not health checks', async () => {
    const email = uniqueEmail('logged');
    const signup = await sys.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { email, password: PASSWORD, name: 'L' },
      headers: { 'user-agent': 'switchboard-test/1.0', 'x-request-id': 'req-signup-1' },
      remoteAddress: '192.0.2.7',
    });
    const { user, session } = signup.json();
    const me = await sys.app.inject({
      method: 'GET',
      url: '/v1/me?secret=should-not-be-logged',
      headers: { ...bearer(session.token), 'user-agent': 'switchboard-test/1.0' },
      remoteAddress: '192.0.2.7',
    });
    expect(me.headers['x-request-id']).toBeTruthy();
    await sys.app.inject({ method: 'GET', url: '/health/live' });
    await sys.app.flushRequestLog();

    const rows = await sql<Record<string, unknown>>(sys.orm, 'select * from request_logs where ip = ? order by id', [
      '192.0.2.7',
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      request_id: 'req-signup-1',
      method: 'POST',
      path: '/v1/accounts',
      status: 201,
      user_agent: 'switchboard-test/1.0',
      user_id: null,
    });
    expect(rows[1]).toMatchObject({
      request_id: me.headers['x-request-id'],
      method: 'GET',
      path: '/v1/me',
      status: 200,
      user_id: user.id,
    });
    expect(Date.now() - Date.parse(String(rows[1]!.at))).toBeLessThan(60_000);
    expect(await sql(sys.orm, "select 1 from request_logs where path like '/health%'")).toHaveLength(0);
  });
});

describe('logs', () => {
  it('never contain passwords or tokens, even at trace level', async () => {
    const lines: string[] = [];
    const { client, connection } = lazyClient(sys.config);
    const app = await buildApp(
      { config: sys.config, orm: sys.orm, temporal: client, temporalConnection: connection },
      { logStream: { write: (line) => lines.push(line) }, logLevel: 'trace' },
    );
    try {
      const password = `log secret ${Math.random()}`;
      const signup = await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        payload: { email: uniqueEmail(), password, name: 'x' },
      });
      const token = signup.json().session.token as string;
      const api = await app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: bearer(token),
        payload: { name: 'x' },
      });
      await app.inject({ method: 'GET', url: `/v1/me?token=${token}`, headers: bearer(api.json().token) });
      await app.inject({ method: 'POST', url: '/v1/sessions', payload: { email: 'nobody@example.com', password } });
      const all = lines.join('\n');
      expect(lines.length).toBeGreaterThan(4);
      for (const secret of [password, token, api.json().token]) expect(all).not.toContain(secret);
    } finally {
      await app.close();
      await connection.close();
    }
  });
});

describe('client address', () => {
  it('ignores X-Forwarded-For by default and believes only the configured proxy hops', async () => {
    const ipOf = async (system: TestSystem, requestId: string) => {
      await system.app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.1', 'x-request-id': requestId },
        remoteAddress: '192.0.2.50',
      });
      await system.app.flushRequestLog();
      const [row] = await sql<{ ip: string }>(system.orm, 'select ip from request_logs where request_id = ?', [
        requestId,
      ]);
      return row?.ip;
    };
    expect(await ipOf(sys, 'xff-direct')).toBe('192.0.2.50');
    const proxied = await createTestSystem({ TRUST_PROXY: '1' });
    try {
      // One trusted hop (the proxy at 192.0.2.50): the client is the address it appended, not the first one.
      expect(await ipOf(proxied, 'xff-proxied')).toBe('198.51.100.1');
    } finally {
      await proxied.close();
    }
  });
});
