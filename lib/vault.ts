import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// OAuth tokens at rest: AES-256-GCM under a named key. A ciphertext is
// `v1.<keyId>.<iv>.<tag>.<data>` (base64url), so any key in the ring can still read what it wrote
// while new writes use the current key; `npm run rotate-keys` rewrites everything under it. The
// additional data binds a ciphertext to its row and column: one copied elsewhere will not decrypt.

export interface KeyRing {
  currentId: string;
  keys: ReadonlyMap<string, Buffer>;
  /** True when no TOKEN_KEYS were configured and the fixed development key is in use. */
  development: boolean;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export class VaultError extends Error {}

/** Parses TOKEN_KEYS (`id:base64,…`); with none, a fixed development key (refused in production). */
export function parseKeyRing(spec: string, currentId: string, production: boolean): KeyRing {
  const keys = new Map<string, Buffer>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [id = '', b64 = ''] = part.split(':');
    const key = Buffer.from(b64, 'base64');
    if (!KEY_ID.test(id) || key.length !== 32) {
      throw new VaultError('TOKEN_KEYS entries must be id:base64 with a 32-byte key (openssl rand -base64 32)');
    }
    keys.set(id, key);
  }
  if (keys.size === 0) {
    if (production) throw new VaultError('TOKEN_KEYS is required in production');
    keys.set('dev', createHash('sha256').update('switchboard development key (not secret)').digest());
    return { currentId: 'dev', keys, development: true };
  }
  const current = currentId || [...keys.keys()][0]!;
  if (!keys.has(current)) throw new VaultError(`TOKEN_KEY_ID "${current}" is not in TOKEN_KEYS`);
  return { currentId: current, keys, development: false };
}

export function encryptSecret(ring: KeyRing, plaintext: string, aad: string): string {
  const key = ring.keys.get(ring.currentId)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return ['v1', ring.currentId, iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join(
    '.',
  );
}

export function keyIdOf(ciphertext: string): string {
  return ciphertext.split('.')[1] ?? '';
}

export function decryptSecret(ring: KeyRing, ciphertext: string, aad: string): string {
  const [version, keyId = '', iv = '', tag = '', data = ''] = ciphertext.split('.');
  const key = ring.keys.get(keyId);
  if (version !== 'v1' || !key) throw new VaultError(`no key "${keyId}" to decrypt with`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new VaultError('ciphertext does not authenticate (wrong key, row or column)');
  }
}

/** JSON values (token sets) through the same vault. */
export const sealJson = (ring: KeyRing, value: unknown, aad: string) => encryptSecret(ring, JSON.stringify(value), aad);
export const openJson = <T>(ring: KeyRing, ciphertext: string, aad: string) =>
  JSON.parse(decryptSecret(ring, ciphertext, aad)) as T;
