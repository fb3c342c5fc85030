// Worker for the core task queue: accounts, workspaces, connections, privacy and publishing.
import { createCoreActivities } from '../activities/index.ts';
import { runWorker } from './run-worker.ts';

await runWorker({ kind: 'core', activities: createCoreActivities });
