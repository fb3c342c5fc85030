import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindRetentionSql } from '../../activities/retention.ts';
import { DELETION_GRAPH, graphTable } from '../../domain/deletion-graph.ts';
import { DAY, MINUTE } from '../../domain/policy.ts';
import {
  activeRetentionPolicies,
  RETENTION_ACTIONS,
  RETENTION_POLICIES,
  retentionScheduleId,
} from '../../domain/retention.ts';
import { PROJECT_ROOT } from '../../lib/config.ts';
import { RETENTION_CATCHUP_WINDOW_MS, retentionScheduleSpec } from '../../lib/schedules.ts';

const migrations = readdirSync(path.join(PROJECT_ROOT, 'db', 'migrations'))
  .filter((f) => f.startsWith('Migration'))
  .map((f) => readFileSync(path.join(PROJECT_ROOT, 'db', 'migrations', f), 'utf8'))
  .join('\n');

/** Columns of a table as created by the committed migrations (create table plus later add column). */
function columns(table: string): Set<string> {
  const out = new Set<string>();
  const create = new RegExp(`create table "${table}" \\((.*?)\\);`).exec(migrations);
  for (const m of create?.[1]?.matchAll(/"(\w+)" [a-z]/g) ?? []) out.add(m[1]!);
  for (const m of migrations.matchAll(new RegExp(`alter table "${table}" add column "(\\w+)"`, 'g'))) out.add(m[1]!);
  return out;
}

describe('retention policies', () => {
  it('cover every table the deletion graph marks as swept, under the same name', () => {
    const swept = DELETION_GRAPH.filter((t) => t.swept);
    expect(swept.length).toBeGreaterThan(0);
    for (const t of swept) {
      for (const id of [t.swept ?? []].flat()) {
        const policy = RETENTION_POLICIES.find((p) => p.id === id);
        expect(policy, `no retention policy "${id}" for ${t.table}`).toBeDefined();
        expect(policy?.targets.map((x) => x.table)).toContain(t.table);
      }
    }
  });

  it('name only tables of the deletion graph, and a policy that targets a swept table carries its name', () => {
    for (const p of RETENTION_POLICIES) {
      if (p.table === null) {
        expect(p.targets, p.id).toEqual([]);
        expect(p.note, `${p.id} should say which feature brings its table`).toMatch(/issue \d/);
        continue;
      }
      expect(p.targets[0]?.table, p.id).toBe(p.table);
      for (const t of p.targets) {
        const g = graphTable(t.table);
        expect(g, `${p.id}: ${t.table} is not in the deletion graph`).toBeDefined();
        if (g?.swept) expect([g.swept].flat(), `${t.table} is swept by ${g.swept}`).toContain(p.id);
      }
    }
  });

  it('refer to columns that exist in the schema', () => {
    for (const p of activeRetentionPolicies()) {
      for (const t of p.targets) {
        const cols = columns(t.table);
        expect(cols.size, `${t.table} not found in the migrations`).toBeGreaterThan(0);
        const sql = `${t.since} ${t.condition ?? ''}`.replace(/'[^']*'/g, '').replace(/:(cutoff|now)\b/g, '');
        const words = sql.match(/\b[a-z_]+\b/g) ?? [];
        const keywords = new Set(['least', 'and', 'or', 'is', 'null', 'not']);
        for (const w of words.filter((x) => !keywords.has(x))) expect(cols, `${p.id}: ${t.table}.${w}`).toContain(w);
      }
    }
  });

  it('have unique ids, schedule ids under retention/, known actions and sane durations', () => {
    const ids = RETENTION_POLICIES.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of RETENTION_POLICIES) {
      expect(retentionScheduleId(p.id)).toMatch(/^retention\/[a-z][a-z-]*[a-z]$/);
      expect(RETENTION_ACTIONS).toContain(p.action);
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.rule.length).toBeGreaterThan(0);
      expect(p.maxAgeMs).toBeGreaterThanOrEqual(0);
      // Often enough to matter, seldom enough not to flood Temporal with runs.
      expect(p.everyMs, p.id).toBeGreaterThanOrEqual(5 * MINUTE);
      expect(p.everyMs, p.id).toBeLessThanOrEqual(1 * DAY);
      expect(p.everyMs % 1000, p.id).toBe(0);
      // Deleting policies run at least once per retention period, so nothing outlives it by more than one interval.
      if (p.action === 'delete' && p.maxAgeMs > 0) expect(p.everyMs, p.id).toBeLessThanOrEqual(p.maxAgeMs);
      // A missed run within the catch-up window is still taken after an outage.
      expect(RETENTION_CATCHUP_WINDOW_MS, p.id).toBeGreaterThanOrEqual(p.everyMs);
    }
  });

  it('hold the values the requirements name', () => {
    const age = (id: string) => RETENTION_POLICIES.find((p) => p.id === id)?.maxAgeMs;
    expect(age('request-logs')).toBe(30 * DAY); // R-LOG-1
    expect(age('preview-links')).toBe(1 * DAY); // R-LINK-1
    expect(age('instagram-inbox')).toBe(30 * DAY); // R-META-6
    expect(age('youtube-refresh')).toBe(30 * DAY); // R-YT-3/4
    expect(age('analytics-aggregate')).toBeLessThanOrEqual(731 * DAY); // R-AN-1: at 24 months, never later
    // The account safety net lands well inside the 48 h purge window after the grace.
    const purge = RETENTION_POLICIES.find((p) => p.id === 'account-purge')!;
    expect(purge.maxAgeMs + purge.everyMs).toBeLessThan(48 * 60 * MINUTE);
  });

  it('give every active policy a schedule spec whose offset lies inside its interval', () => {
    for (const [i, p] of activeRetentionPolicies().entries()) {
      const spec = retentionScheduleSpec(p, i);
      const interval = spec.intervals?.[0] as { every: number; offset: number };
      expect(interval.every).toBe(p.everyMs);
      expect(interval.offset).toBeGreaterThanOrEqual(0);
      expect(interval.offset).toBeLessThan(p.everyMs);
    }
  });

  it('binds :cutoff and :now in order and leaves casts alone', () => {
    const cutoff = new Date('2026-01-01T00:00:00Z');
    const now = new Date('2026-01-02T00:00:00Z');
    expect(bindRetentionSql('a < :cutoff and (b < :now or c::timestamptz < :cutoff)', { cutoff, now })).toEqual({
      sql: 'a < ? and (b < ? or c::timestamptz < ?)',
      params: [cutoff, now, cutoff],
    });
  });
});
