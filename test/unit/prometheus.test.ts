import { describe, expect, it } from 'vitest';
import { mergeExpositions } from '../../lib/prometheus.ts';

describe('mergeExpositions', () => {
  it('joins families of the same name under one header and keeps the others', () => {
    const a = '# HELP req Requests\n# TYPE req counter\nreq{worker="core"} 1\n';
    const b =
      '# HELP req Requests\n# TYPE req counter\nreq{worker="media"} 2\n# HELP lat Latency\n# TYPE lat histogram\nlat_bucket{le="1"} 3\nlat_sum 4\nlat_count 3\n';
    const merged = mergeExpositions([a, b]);
    expect(merged.match(/# TYPE req counter/g)).toHaveLength(1);
    expect(merged).toContain('req{worker="core"} 1\nreq{worker="media"} 2');
    expect(merged).toContain('# TYPE lat histogram\nlat_bucket{le="1"} 3\nlat_sum 4\nlat_count 3');
  });
});
