export { connectWorkflow } from './connect.workflow.ts';
export { connectionWorkflow } from './connection.workflow.ts';
export { deletionWorkflow } from './deletion.workflow.ts';
export { exportWorkflow } from './export.workflow.ts';
export { invitationWorkflow } from './invitation.workflow.ts';
export { publishWorkflow } from './publish.workflow.ts';
export { publishReconcilerWorkflow } from './publish-reconciler.workflow.ts';
export { retentionSweepWorkflow } from './retention.workflow.ts';
