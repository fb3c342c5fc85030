import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT, workflowBundlePath } from '../lib/config.ts';

/** Bundles every workflow once, ahead of time; workers load the file instead of bundling at start. */
export async function buildWorkflowBundle(outPath: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(PROJECT_ROOT, 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  await mkdir(path.dirname(outPath), { recursive: true });
  await writeFile(outPath, code);
  return outPath;
}

if (import.meta.main) {
  const out = await buildWorkflowBundle(workflowBundlePath());
  console.log(`workflow bundle written to ${path.relative(process.cwd(), out)}`);
}
