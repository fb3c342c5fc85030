import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';

// Bearer secrets: 256 random bits, shown once, stored only as SHA-256 (they are high-entropy, so a
// fast hash is safe and keeps lookups indexable). Passwords: bcrypt.

export type TokenKind = 'session' | 'api' | 'invitation';
const PREFIX: Record<TokenKind, string> = { session: 'sbs', api: 'sbt', invitation: 'sbi' };

export function newToken(kind: TokenKind): string {
  return `${PREFIX[kind]}_${randomBytes(32).toString('base64url')}`;
}

export function tokenKind(token: string): TokenKind | undefined {
  const prefix = token.slice(0, 4);
  return (Object.keys(PREFIX) as TokenKind[]).find((k) => `${PREFIX[k]}_` === prefix);
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  // bcrypt ignores everything past 72 bytes; callers must have refused longer input already.
  if (utf8Bytes(password) > 72) throw new RangeError('password exceeds 72 bytes');
  return bcrypt.hash(password, cost);
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (utf8Bytes(password) > 72) return false;
  return bcrypt.compare(password, hash);
}

/** A valid hash to compare against when the account does not exist, so timing reveals nothing. */
let decoyHash: string | undefined;
export async function decoyVerify(password: string, cost: number): Promise<false> {
  decoyHash ??= await bcrypt.hash(randomBytes(16).toString('hex'), cost);
  await bcrypt.compare(password.slice(0, 72), decoyHash);
  return false;
}
