// Replays every recorded history in test/histories/<workflowType>/ against the current workflow
// code, so a non-deterministic change fails here before it can break running workflows.
// Record new ones with `RECORD_HISTORIES=1 npm test -- test/temporal` and commit them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';

const root = path.join(import.meta.dirname, '..', 'histories');
const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));

describe('recorded workflow histories', () => {
  it.each([
    ['invitationWorkflow', 3],
    ['connectWorkflow', 11],
    ['connectionWorkflow', 8],
    ['deletionWorkflow', 11],
    ['exportWorkflow', 1],
    ['retentionSweepWorkflow', 5],
    ['publishWorkflow', 13],
    ['publishReconcilerWorkflow', 1],
    ['syncWorkflow', 6],
    ['syncReconcilerWorkflow', 1],
    ['replyWorkflow', 3],
    ['moderateWorkflow', 1],
    ['mediaIngestWorkflow', 3],
  ] as const)('exist for %s', (workflowType, atLeast) => {
    expect(files.filter((f) => f.startsWith(workflowType)).length).toBeGreaterThanOrEqual(atLeast);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = JSON.parse(readFileSync(path.join(root, file), 'utf8'));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('bundlePath') } }, history, `replay-${file}`),
    ).resolves.toBeUndefined();
  });
});
