import type { MikroORM } from '@mikro-orm/core';
import pino from 'pino';
import type { Config } from '../lib/config.ts';
import { logMailer, type Mailer } from '../lib/mailer.ts';
import { type Adapters, createAdapters } from '../platforms/index.ts';
import { createConnectionActivities } from './connections.ts';
import { createInvitationActivities } from './invitations.ts';

export interface ActivityDeps {
  orm: MikroORM;
  config: Config;
  /** Defaults to adapters built from config (real platforms or the simulators). */
  adapters?: Adapters;
  mailer?: Mailer;
}

/** All activities of the core task queue, built from their clients. */
export function createCoreActivities(deps: ActivityDeps) {
  const adapters = deps.adapters ?? createAdapters(deps.config.platforms);
  const mailer = deps.mailer ?? logMailer(pino({ name: 'mailer', level: deps.config.logLevel }));
  return {
    ...createInvitationActivities(deps),
    ...createConnectionActivities({ orm: deps.orm, config: deps.config, adapters, mailer }),
  };
}
