import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { PublishActivities } from '../activities/publishing.ts';
import { ProcessKind } from '../domain/search-attributes.ts';
import { RECONCILE_PROCESS_KIND, type ReconcileInput, type ReconcileResult } from './publish.messages.ts';

const acts = proxyActivities<PublishActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/**
 * One run of the publishing safety net (`publish-reconciler`, started by its Schedule): live
 * targets without a running publish workflow get one. Not the main path: the API starts workflows
 * itself; this repairs what an outage or an operator left behind.
 */
export async function publishReconcilerWorkflow(input: ReconcileInput): Promise<ReconcileResult> {
  upsertSearchAttributes([{ key: ProcessKind, value: RECONCILE_PROCESS_KIND }]);
  return acts.reconcilePublishing(input);
}
