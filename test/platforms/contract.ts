import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { pkceChallenge } from '../../platforms/http.ts';
import type { AdapterConfig, PlatformAdapter, PlatformId, TokenSet } from '../../platforms/types.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';

// Drives an adapter against its simulator without Temporal or the database: the adapter contract
// every platform must meet. The end-to-end tests through the API build on the same simulator.

export const REDIRECT_URI = 'http://127.0.0.1:3000/v1/oauth/callback';

export function simAdapterConfig(sim: Simulator, platform: PlatformId): AdapterConfig {
  return {
    clientId: `sim-${platform}-client`,
    clientSecret: `sim-${platform}-secret`,
    baseUrl: `${sim.url}/${platform}`,
    timeoutMs: 5_000,
  };
}

/**
 * One simulator for the calling file: started before its tests, closed after them, reset before
 * each. `env.sim` is there once the file's first beforeAll has run.
 */
export function useSimulator(): { readonly sim: Simulator } {
  let started: Simulator | undefined;
  const env = {
    get sim(): Simulator {
      if (!started) throw new Error('the simulator is not started yet');
      return started;
    },
  };
  beforeAll(async () => {
    started = await startSimulator();
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(async () => {
    await admin(env.sim, 'POST', '/reset');
  });
  return env;
}

/** The PlatformError `work` fails with; fails the test if it succeeds or throws anything else. */
export function platformFailure(work: Promise<unknown>): Promise<PlatformError> {
  return work.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(PlatformError);
      return err as PlatformError;
    },
  );
}

export async function admin<T = unknown>(sim: Simulator, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${sim.url}/_admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Follows the authorize URL the way a browser would and returns the callback's query. */
export async function consent(authorizeUrl: string): Promise<URLSearchParams> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  return new URL(location).searchParams;
}

/** authorize → callback → code exchange (with PKCE where supported). */
export async function connectDirect(adapter: PlatformAdapter): Promise<{ tokens: TokenSet; state: string }> {
  const state = randomBytes(16).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const url = adapter.authorizeUrl({
    state,
    redirectUri: REDIRECT_URI,
    codeChallenge: adapter.pkce ? pkceChallenge(verifier) : undefined,
  });
  const query = await consent(url);
  if (query.get('state') !== state) throw new Error('state did not round-trip');
  const code = query.get('code');
  if (!code) throw new Error(`no code: ${query.toString()}`);
  const tokens = await adapter.exchangeCode({
    code,
    redirectUri: REDIRECT_URI,
    codeVerifier: adapter.pkce ? verifier : undefined,
  });
  return { tokens, state };
}
