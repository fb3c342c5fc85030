import type { MikroORM } from '@mikro-orm/core';
import { createInvitationActivities } from './invitations.ts';

export interface ActivityDeps {
  orm: MikroORM;
}

/** All activities of the core task queue, built from their clients. */
export function createCoreActivities(deps: ActivityDeps) {
  return { ...createInvitationActivities(deps) };
}
