import type { MikroORM } from '@mikro-orm/core';
import { stateAad, tokensAad } from '../activities/connections.ts';
import { audit } from './audit.ts';
import { decryptSecret, encryptSecret, type KeyRing } from './vault.ts';

// Re-encrypts every stored secret that is not under the current key. Run it after adding a new key
// to TOKEN_KEYS and making it TOKEN_KEY_ID; once it reports nothing left, old keys can be removed.
// Rows are rewritten one at a time over the value they were read with, so a concurrent refresh wins.

const STATE_FIELDS = [
  ['verifier_ciphertext', 'verifier'],
  ['code_ciphertext', 'code'],
  ['tokens_ciphertext', 'tokens'],
] as const;

export async function rotateKeys(orm: MikroORM, ring: KeyRing): Promise<{ rewritten: number; remaining: number }> {
  const db = orm.em.getConnection();
  let rewritten = 0;
  const tokens = await db.execute<{ connection_id: string; ciphertext: string }[]>(
    'select connection_id, ciphertext from connection_tokens where key_id <> ?',
    [ring.currentId],
  );
  for (const row of tokens) {
    const aad = tokensAad(row.connection_id);
    const fresh = encryptSecret(ring, decryptSecret(ring, row.ciphertext, aad), aad);
    const res = await db.execute(
      'update connection_tokens set ciphertext = ?, key_id = ?, version = version + 1 where connection_id = ? and ciphertext = ?',
      [fresh, ring.currentId, row.connection_id, row.ciphertext],
      'run',
    );
    rewritten += (res as { affectedRows?: number }).affectedRows ?? 0;
  }
  for (const [column, field] of STATE_FIELDS) {
    const rows = await db.execute<{ id: string; value: string }[]>(
      `select id, ${column} as value from oauth_states where ${column} is not null and ${column} not like ?`,
      [`v1.${ring.currentId}.%`],
    );
    for (const row of rows) {
      const aad = stateAad(row.id, field);
      const fresh = encryptSecret(ring, decryptSecret(ring, row.value, aad), aad);
      const res = await db.execute(
        `update oauth_states set ${column} = ? where id = ? and ${column} = ?`,
        [fresh, row.id, row.value],
        'run',
      );
      rewritten += (res as { affectedRows?: number }).affectedRows ?? 0;
    }
  }
  const [left] = await db.execute<{ n: string }[]>(
    `select (select count(*) from connection_tokens where key_id <> ?)
       + (select count(*) from oauth_states where ${STATE_FIELDS.map(([c]) => `(${c} is not null and ${c} not like ?)`).join(' or ')}) as n`,
    [ring.currentId, ...STATE_FIELDS.map(() => `v1.${ring.currentId}.%`)],
  );
  const em = orm.em.fork();
  audit(em, { action: 'vault.rotated', details: { keyId: ring.currentId, rewritten } });
  await em.flush();
  return { rewritten, remaining: Number(left?.n ?? 0) };
}
