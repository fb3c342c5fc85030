import type { EntityManager } from '@mikro-orm/core';

// Verifies the hash chain of audit_events (see the privacy migration for how rows are chained). It
// recomputes each row's hash in PostgreSQL with the same function the insert trigger uses, so
// there is one definition of the digest, and walks the table in pages to stay flat in memory.

export interface ChainVerification {
  ok: boolean;
  /** Rows checked. */
  checked: number;
  /** Position of the last row, i.e. the chain's head. */
  head: number;
  headHash: string | null;
  /** The first position at which the chain is broken. */
  brokenAt?: number;
  problem?: 'missing' | 'altered' | 'relinked' | 'unchained';
}

interface ChainRow {
  pos: string | null;
  prev_hash: string | null;
  hash: string | null;
  expected: string;
}

const PAGE = 5_000;

export async function verifyAuditChain(em: EntityManager): Promise<ChainVerification> {
  const conn = em.getConnection();
  let expectedPosition = 1;
  let previousHash: string | null = null;
  let checked = 0;
  const broken = (at: number, problem: ChainVerification['problem']): ChainVerification => ({
    ok: false,
    checked,
    head: expectedPosition - 1,
    headHash: previousHash,
    brokenAt: at,
    problem,
  });

  const [unchained] = await conn.execute<{ n: string }[]>(
    'select count(*)::text as n from audit_events where position is null or hash is null',
  );
  for (;;) {
    const rows = await conn.execute<ChainRow[]>(
      // Ordered by the bigint column itself: the text alias would sort 10 before 2.
      `select e.position::text as pos, prev_hash, hash, audit_event_digest(prev_hash, e) as expected
         from audit_events e where e.position >= ? order by e.position limit ?`,
      [expectedPosition, PAGE],
    );
    for (const row of rows) {
      const position = Number(row.pos);
      if (position !== expectedPosition) return broken(expectedPosition, 'missing');
      if (row.prev_hash !== previousHash) return broken(position, 'relinked');
      if (row.hash !== row.expected) return broken(position, 'altered');
      previousHash = row.hash;
      expectedPosition++;
      checked++;
    }
    if (rows.length < PAGE) break;
  }
  // A row stripped of its chain columns is tampering too, though it cannot be placed in the order.
  if (Number(unchained?.n ?? 0) > 0) return broken(expectedPosition, 'unchained');
  return { ok: true, checked, head: expectedPosition - 1, headHash: previousHash };
}

/** The chain positions of the audit rows about one target (a deletion request's steps, say). */
export async function auditPositions(
  em: EntityManager,
  targetType: string,
  targetId: string,
): Promise<{ position: number; action: string; at: string; hash: string }[]> {
  const rows = await em
    .getConnection()
    .execute<{ position: string; action: string; at: Date; hash: string }[]>(
      'select e.position::text as position, action, at, hash from audit_events e where target_type = ? and target_id = ? order by e.position',
      [targetType, targetId],
    );
  return rows.map((r: { position: string; action: string; at: Date; hash: string }) => ({
    position: Number(r.position),
    action: r.action,
    at: new Date(r.at).toISOString(),
    hash: r.hash,
  }));
}
