export { connectWorkflow } from './connect.workflow.ts';
export { connectionWorkflow } from './connection.workflow.ts';
export { invitationWorkflow } from './invitation.workflow.ts';
export { deletionWorkflow } from './deletion.workflow.ts';
