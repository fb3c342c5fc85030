// Every task queue the system uses. /health/ready requires a live poller on each of them, so a new
// queue is added here together with its worker entrypoint in workers/.
export const TASK_QUEUE_KINDS = ['core', 'media'] as const;
export type TaskQueueKind = (typeof TASK_QUEUE_KINDS)[number];
export type TaskQueues = Record<TaskQueueKind, string>;

export const defaultTaskQueues: TaskQueues = {
  core: 'switchboard-core',
  media: 'switchboard-media',
};

/** What each queue's workers poll: the media worker runs activities only (workflows run on core). */
export const TASK_QUEUE_POLLS: Record<TaskQueueKind, readonly ('workflow' | 'activity')[]> = {
  core: ['workflow', 'activity'],
  media: ['activity'],
};
