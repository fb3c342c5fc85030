import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS, PLATFORM_ENV_VARS, PROJECT_ROOT } from '../../lib/config.ts';

describe('README', () => {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');

  it('documents every environment variable the system reads', () => {
    const missing = [...Object.keys(ENV_VARS), ...Object.keys(PLATFORM_ENV_VARS)].filter(
      (name) => !new RegExp(`^\\| \`${name}\` +\\|`, 'm').test(readme),
    );
    expect(missing).toEqual([]);
  });
});
