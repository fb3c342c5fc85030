import { describe, expect, it } from 'vitest';
import { hashPassword, newToken, sha256, tokenKind, verifyPassword } from '../../lib/secrets.ts';

describe('tokens', () => {
  it('carry 256 random bits behind a kind prefix', () => {
    const a = newToken('session');
    const b = newToken('session');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^sbs_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(tokenKind(newToken('api'))).toBe('api');
    expect(tokenKind('xyz_abc')).toBeUndefined();
    expect(sha256(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('passwords', () => {
  it('hash with bcrypt at the requested cost and verify', async () => {
    const hash = await hashPassword('correct horse battery', 10);
    expect(hash).toMatch(/^\$2[aby]\$10\$/);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
  });

  it('refuse more than 72 bytes instead of silently truncating', async () => {
    const base = 'é'.repeat(36); // 72 bytes in UTF-8
    const hash = await hashPassword(base, 10);
    await expect(hashPassword(`${base}x`, 10)).rejects.toThrow(/72 bytes/);
    // bcrypt would accept this (same first 72 bytes); we must not.
    expect(await verifyPassword(`${base}x`, hash)).toBe(false);
  });
});
