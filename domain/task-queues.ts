// Every task queue the system uses. /health/ready requires a live poller on each of them, so a new
// queue is added here together with its worker entrypoint in workers/.
export const TASK_QUEUE_KINDS = ['core'] as const;
export type TaskQueueKind = (typeof TASK_QUEUE_KINDS)[number];
export type TaskQueues = Record<TaskQueueKind, string>;

export const defaultTaskQueues: TaskQueues = {
  core: 'switchboard-core',
};
