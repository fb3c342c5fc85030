import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signRequest, verifySignedRequest } from '../../lib/meta-signed-request.ts';

// Meta's signed_request, verified in the order of compliance.md §1.1. The vectors are built here by
// hand (not with signRequest) where the construction itself is under test.

const SECRET = 'app-secret-for-tests';
const NOW_S = 1_700_000_000;
const opts = { nowMs: NOW_S * 1000, maxAgeMs: 10 * 60_000 };
const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const hmac = (message: string, secret = SECRET) => createHmac('sha256', secret).update(message).digest();

/** A signed request from an already encoded payload, signed exactly as Meta's PHP sample checks it. */
const signEncoded = (encodedPayload: string, secret = SECRET) =>
  `${b64url(hmac(encodedPayload, secret))}.${encodedPayload}`;
const signJson = (payload: unknown, secret = SECRET) => signEncoded(b64url(JSON.stringify(payload)), secret);

const valid = { algorithm: 'HMAC-SHA256', issued_at: NOW_S, user_id: '218471', expires: NOW_S + 3600 };

const reasonOf = (raw: string, secret = SECRET, o = opts) => {
  const result = verifySignedRequest(raw, secret, o);
  return result.ok ? 'ok' : result.reason;
};

describe('verifySignedRequest', () => {
  it('accepts a request signed over the encoded payload with the app secret', () => {
    expect(verifySignedRequest(signJson(valid), SECRET, opts)).toEqual({
      ok: true,
      userId: '218471',
      issuedAt: NOW_S,
      algorithm: 'HMAC-SHA256',
    });
  });

  it('agrees with signRequest (unpadded base64url on both sides)', () => {
    const raw = signRequest(valid, SECRET);
    expect(raw).toBe(signJson(valid));
    expect(raw).not.toContain('=');
    expect(verifySignedRequest(raw, SECRET, opts).ok).toBe(true);
  });

  it('accepts the algorithm in any case', () => {
    expect(reasonOf(signJson({ ...valid, algorithm: 'hmac-sha256' }))).toBe('ok');
  });

  it('accepts a signature with trailing "=" padding', () => {
    const raw = signJson(valid);
    const [sig, payload] = raw.split('.') as [string, string];
    expect(sig.length).toBe(43);
    expect(reasonOf(`${sig}=.${payload}`)).toBe('ok');
    // Padding that no encoding produces is still malformed.
    expect(reasonOf(`${sig}==.${payload}`)).toMatch(/malformed/);
  });

  it('refuses a bad signature: another secret, a changed payload, a changed signature', () => {
    expect(reasonOf(signJson(valid, 'another-secret'))).toBe('bad signature');
    const [sig] = signJson(valid).split('.') as [string, string];
    const forged = b64url(JSON.stringify({ ...valid, user_id: '999' }));
    expect(reasonOf(`${sig}.${forged}`)).toBe('bad signature');
    const flipped = Buffer.from(sig, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(reasonOf(`${b64url(flipped)}.${signJson(valid).split('.')[1]}`)).toBe('bad signature');
  });

  it('refuses a signature over the decoded JSON instead of the encoded payload', () => {
    const encoded = b64url(JSON.stringify(valid));
    expect(reasonOf(`${b64url(hmac(JSON.stringify(valid)))}.${encoded}`)).toBe('bad signature');
  });

  it('fails cleanly when the signature has the wrong length (before the constant-time compare)', () => {
    const encoded = b64url(JSON.stringify(valid));
    const short = hmac(encoded).subarray(0, 31);
    const long = Buffer.concat([hmac(encoded), Buffer.from([0])]);
    expect(reasonOf(`${b64url(short)}.${encoded}`)).toBe('bad signature: wrong length');
    expect(reasonOf(`${b64url(long)}.${encoded}`)).toBe('bad signature: wrong length');
    expect(reasonOf(`AAAA.${encoded}`)).toBe('bad signature: wrong length');
  });

  it('refuses any algorithm other than HMAC-SHA256, even when correctly signed', () => {
    expect(reasonOf(signJson({ ...valid, algorithm: 'HMAC-SHA1' }))).toBe('unsupported algorithm');
    expect(reasonOf(signJson({ ...valid, algorithm: 'none' }))).toBe('unsupported algorithm');
    const { algorithm: _, ...noAlgorithm } = valid;
    expect(reasonOf(signJson(noAlgorithm))).toBe('unsupported algorithm');
  });

  it('refuses a stale issued_at and one in the future, and accepts the edges of the window', () => {
    const window = opts.maxAgeMs / 1000;
    expect(reasonOf(signJson({ ...valid, issued_at: NOW_S - window - 1 }))).toBe('stale: issued_at is too old');
    expect(reasonOf(signJson({ ...valid, issued_at: NOW_S + window + 1 }))).toBe('stale: issued_at is in the future');
    expect(reasonOf(signJson({ ...valid, issued_at: NOW_S - window }))).toBe('ok');
    expect(reasonOf(signJson({ ...valid, issued_at: NOW_S + window }))).toBe('ok');
  });

  it('refuses an issued_at that is not an integer number of seconds', () => {
    for (const issued_at of ['1700000000', 1_700_000_000.5, null, -1]) {
      expect(reasonOf(signJson({ ...valid, issued_at })), String(issued_at)).toMatch(/issued_at/);
    }
    const { issued_at: _, ...missing } = valid;
    expect(reasonOf(signJson(missing))).toMatch(/issued_at/);
  });

  it('requires user_id to be a non-empty string of digits', () => {
    for (const user_id of [218471, '', 'abc', '12a', ' 123', '-5', '0', null, ['1']]) {
      expect(reasonOf(signJson({ ...valid, user_id })), JSON.stringify(user_id)).toBe(
        'user_id must be a non-empty string of digits',
      );
    }
    const { user_id: _, ...missing } = valid;
    expect(reasonOf(signJson(missing))).toBe('user_id must be a non-empty string of digits');
  });

  it('refuses malformed input before any HMAC work', () => {
    const raw = signJson(valid);
    const [sig, payload] = raw.split('.') as [string, string];
    const cases: [string, string, RegExp][] = [
      ['empty', '', /malformed/],
      ['no dot', `${sig}${payload}`, /no "\."/],
      ['two dots', `${sig}.${payload}.x`, /more than one/],
      ['dot at the end', `${sig}.${payload}.`, /more than one/],
      ['empty signature', `.${payload}`, /empty signature or payload/],
      ['empty payload', `${sig}.`, /empty signature or payload/],
      ['only a dot', '.', /empty signature or payload/],
      ['standard base64 characters', `${sig.slice(0, -1)}+.${payload}`, /not base64url/],
      ['slash', `${sig}.${payload.slice(0, -1)}/`, /not base64url/],
      ['whitespace', `${sig} .${payload}`, /not base64url/],
      ['padding in the middle', `${sig.slice(0, 10)}=${sig.slice(10)}.${payload}`, /not base64url/],
      ['signature of an impossible length', `${sig}AA.${payload}`, /signature is not valid base64url/],
    ];
    for (const [what, input, reason] of cases) {
      expect(reasonOf(input), what).toMatch(reason);
    }
  });

  it('refuses a correctly signed payload of a length no base64 encoding produces', () => {
    let encoded = b64url(JSON.stringify(valid));
    while (encoded.length % 4 !== 1) encoded += 'A';
    expect(reasonOf(signEncoded(encoded))).toBe('malformed: payload is not valid base64url');
  });

  it('refuses a correctly signed payload that is not a JSON object', () => {
    expect(reasonOf(signEncoded(b64url('not json')))).toBe('malformed: payload is not JSON');
    expect(reasonOf(signEncoded(b64url('[1,2]')))).toBe('malformed: payload is not a JSON object');
    expect(reasonOf(signEncoded(b64url('null')))).toBe('malformed: payload is not a JSON object');
    expect(reasonOf(signEncoded(b64url('"HMAC-SHA256"')))).toBe('malformed: payload is not a JSON object');
  });

  it('refuses everything when no app secret is configured (an empty key would let anyone sign)', () => {
    expect(reasonOf(signJson(valid, ''), '')).toBe('no app secret is configured for this app');
  });

  it('refuses over-long input', () => {
    const padded = signJson({ ...valid, pad: 'x'.repeat(10_000) });
    expect(reasonOf(padded)).toBe('malformed: too long');
  });
});
