import type { ContentStore, SimMessage, SimPost } from './content.ts';
import type { PlatformSim } from './core.ts';

// What the simulators' sync routes share over the content store (content.ts): seeded history in
// the platform's own id shapes, and counters read by the platform's names or the shared ones.

/**
 * Gives seeded history the platform's id shapes: each seeded post gets `post()` as its id (its
 * messages follow it), then `message` reshapes each seeded message (its own id, …).
 */
export function shapeSeededIds(sim: PlatformSim, shape: { post(): string; message(m: SimMessage): void }): void {
  const seed = sim.content.seed.bind(sim.content);
  sim.content.seed = (now, spec, makeId) => {
    const seeded = seed(now, spec, makeId);
    const ids = new Map<string, string>();
    for (const p of seeded.posts) {
      ids.set(p.id, shape.post());
      p.id = ids.get(p.id) as string;
    }
    for (const m of seeded.messages) {
      m.threadId = ids.get(m.threadId) ?? m.threadId;
      shape.message(m);
    }
    return seeded;
  };
}

/** A counter by the platform's own name, else the shared one (views, likes, …), else 0. */
export const counterOf = (counters: SimPost['counters'] | undefined, own: string, shared?: string) =>
  counters?.[own] ?? (shared === undefined ? undefined : counters?.[shared]) ?? 0;

/** A deterministic share weight (1–9) of a value, so an account's audience is the same on every seed. */
function weight(...parts: string[]): number {
  let h = 2166136261;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return 1 + ((h >>> 0) % 9);
}

/**
 * An account's audience along one dimension (age, country, …): `total` spread over `values` in
 * shares that follow from the account id, plus what content/bump added to the account total
 * `<dimension>.<value>` (e.g. `{accountId, metric: 'country.US', by: 5}`). Values with no one are left out.
 */
export function audienceOf(
  content: ContentStore,
  accountId: string,
  dimension: string,
  values: readonly string[],
  total: number,
): { value: string; count: number }[] {
  const weights = values.map((v) => weight(accountId, dimension, v));
  const sum = weights.reduce((a, b) => a + b, 0);
  const bumped = content.totals.get(accountId) ?? {};
  return values
    .map((value, i) => ({
      value,
      count: Math.floor((total * (weights[i] ?? 0)) / sum) + (bumped[`${dimension}.${value}`] ?? 0),
    }))
    .filter((v) => v.count > 0);
}
