import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ormConfig } from '../../db/orm.ts';
import { audit } from '../../lib/audit.ts';
import { verifyAuditChain } from '../../lib/audit-chain.ts';
import { createDatabaseIfMissing, dropDatabase } from '../../lib/postgres.ts';

// Tampering with the audit log by hand, as a database superuser would, must show at the position
// it happened. This file uses a database of its own: it deliberately breaks the chain.

let orm: MikroORM;
let url: string;

beforeAll(async () => {
  const u = new URL(inject('databaseUrl'));
  u.pathname = `/sb_audit_${process.pid}`;
  url = u.toString();
  await dropDatabase(url);
  await createDatabaseIfMissing(url);
  orm = await MikroORM.init(ormConfig(url));
  await orm.migrator.up();
});
afterAll(async () => {
  await orm.close();
  await dropDatabase(url);
});

async function append(n: number): Promise<void> {
  const em = orm.em.fork();
  for (let i = 0; i < n; i++) {
    audit(em, { action: 'workspace.renamed', targetType: 'workspace', targetId: `w${i}`, details: { i, note: null } });
    await em.flush();
  }
}

/** What a superuser can do: switch the append-only triggers off for one transaction. */
async function tamper(sql: string): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    await em.execute('set local session_replication_role = replica');
    for (const statement of sql.split(';').filter((s) => s.trim())) await em.execute(statement);
  });
}

describe('audit hash chain', () => {
  it('chains appends in order and verifies clean', async () => {
    await append(12);
    const v = await verifyAuditChain(orm.em.fork());
    expect(v).toMatchObject({ ok: true, checked: 12, head: 12 });
    expect(v.headHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE through the normal path', async () => {
    const conn = orm.em.getConnection();
    await expect(conn.execute(`update audit_events set action = 'x' where position = 1`)).rejects.toThrow(
      /append-only/,
    );
    await expect(conn.execute('delete from audit_events where position = 1')).rejects.toThrow(/append-only/);
    await expect(conn.execute('truncate audit_events')).rejects.toThrow(/append-only/);
  });

  it('names the position of a changed row', async () => {
    await tamper(`update audit_events set details = '{"i": 99, "note": null}' where position = 5`);
    expect(await verifyAuditChain(orm.em.fork())).toMatchObject({ ok: false, brokenAt: 5, problem: 'altered' });
    await tamper(`update audit_events set details = '{"i": 4, "note": null}' where position = 5`);
    expect((await verifyAuditChain(orm.em.fork())).ok).toBe(true);
  });

  it('names the position of a changed NULL (NULL and empty are different)', async () => {
    await tamper(`update audit_events set request_id = '' where position = 3`);
    expect(await verifyAuditChain(orm.em.fork())).toMatchObject({ ok: false, brokenAt: 3 });
    await tamper('update audit_events set request_id = null where position = 3');
  });

  it('names the position of a deleted row', async () => {
    await tamper('delete from audit_events where position = 8');
    expect(await verifyAuditChain(orm.em.fork())).toMatchObject({ ok: false, brokenAt: 8, problem: 'missing' });
  });

  it('a row rewritten with a recomputed hash still breaks the link to the next one', async () => {
    const fresh = await dropAndRebuild();
    await append(6);
    await tamper(
      `update audit_events set action = 'member.removed' where position = 2;
       update audit_events e set hash = audit_event_digest(e.prev_hash, e) where position = 2`,
    );
    expect(await verifyAuditChain(fresh)).toMatchObject({ ok: false, brokenAt: 3, problem: 'relinked' });
  });
});

async function dropAndRebuild() {
  await orm.close();
  await dropDatabase(url);
  await createDatabaseIfMissing(url);
  orm = await MikroORM.init(ormConfig(url));
  await orm.migrator.up();
  return orm.em.fork();
}
