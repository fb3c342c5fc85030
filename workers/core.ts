// Worker for the core task queue: accounts, workspaces and invitations.
import { createCoreActivities } from '../activities/index.ts';
import { runWorker } from './run-worker.ts';

await runWorker({ kind: 'core', activities: createCoreActivities });
