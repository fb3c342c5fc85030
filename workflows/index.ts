// Entry point of the workflow bundle: every workflow type the workers run.
export { invitationWorkflow } from './invitation.workflow.ts';
