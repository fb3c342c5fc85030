import type { MikroORM } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import type { Config } from '../lib/config.ts';
import { logMailer, type Mailer } from '../lib/mailer.ts';
import { lazyClient } from '../lib/temporal.ts';
import { type Adapters, createAdapters } from '../platforms/index.ts';
import { createConnectionActivities } from './connections.ts';
import { createDeletionActivities } from './deletion.ts';
import { createExportActivities } from './export.ts';
import { createInvitationActivities } from './invitations.ts';
import { createPublishActivities } from './publishing.ts';
import { createRetentionActivities } from './retention.ts';

export interface ActivityDeps {
  orm: MikroORM;
  config: Config;
  /** Defaults to adapters built from config (real platforms or the simulators). */
  adapters?: Adapters;
  mailer?: Mailer;
  /** For activities that steer other workflows (deletion asks connections to disconnect). */
  temporal?: Client;
}

/** All activities of the core task queue, built from their clients. */
export function createCoreActivities(deps: ActivityDeps) {
  const adapters = deps.adapters ?? createAdapters(deps.config.platforms);
  const temporal = deps.temporal ?? lazyClient(deps.config).client;
  const mailer = deps.mailer ?? logMailer(pino({ name: 'mailer', level: deps.config.logLevel }));
  return {
    ...createInvitationActivities(deps),
    ...createConnectionActivities({ orm: deps.orm, config: deps.config, adapters, mailer }),
    ...createDeletionActivities({ orm: deps.orm, config: deps.config, mailer, temporal }),
    ...createExportActivities({ orm: deps.orm, config: deps.config }),
    ...createRetentionActivities({ orm: deps.orm, config: deps.config, temporal }),
    ...createPublishActivities({ orm: deps.orm, config: deps.config, adapters, temporal }),
  };
}
