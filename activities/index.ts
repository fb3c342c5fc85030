import type { MikroORM } from '@mikro-orm/core';
import type { Client } from '@temporalio/client';
import pino from 'pino';
import type { EmbeddingProvider, TranscriptionProvider } from '../domain/media.ts';
import type { Config } from '../lib/config.ts';
import { logMailer, type Mailer } from '../lib/mailer.ts';
import { createSentimentClassifier, type SentimentClassifier } from '../lib/sentiment.ts';
import { createStorage, type ObjectStorage } from '../lib/storage.ts';
import { lazyClient } from '../lib/temporal.ts';
import { type Adapters, createAdapters } from '../platforms/index.ts';
import { createConnectionActivities } from './connections.ts';
import { createDeletionActivities } from './deletion.ts';
import { createExportActivities } from './export.ts';
import { createInboxActivities } from './inbox.ts';
import { createInvitationActivities } from './invitations.ts';
import { createMediaActivities } from './media.ts';
import { createPublishActivities } from './publishing.ts';
import { createRetentionActivities } from './retention.ts';
import { createSyncActivities } from './sync.ts';

export interface ActivityDeps {
  orm: MikroORM;
  config: Config;
  /** Defaults to adapters built from config (real platforms or the simulators). */
  adapters?: Adapters;
  mailer?: Mailer;
  /** For activities that steer other workflows (deletion asks connections to disconnect). */
  temporal?: Client;
  /** Defaults to the configured storage (the data folder). */
  storage?: ObjectStorage;
  /** Defaults to the configured classifier; null: none (messages stay untagged). */
  sentiment?: SentimentClassifier | null;
  /** Media providers; default from the configuration, null: none (the stage is skipped). */
  transcription?: TranscriptionProvider | null;
  embeddings?: EmbeddingProvider | null;
}

/** All activities of the core task queue, built from their clients. */
export function createCoreActivities(deps: ActivityDeps) {
  const adapters = deps.adapters ?? createAdapters(deps.config.platforms);
  const storage = deps.storage ?? createStorage(deps.config);
  const temporal = deps.temporal ?? lazyClient(deps.config).client;
  const mailer = deps.mailer ?? logMailer(pino({ name: 'mailer', level: deps.config.logLevel }));
  return {
    ...createInvitationActivities(deps),
    ...createConnectionActivities({ orm: deps.orm, config: deps.config, adapters, mailer }),
    ...createDeletionActivities({ orm: deps.orm, config: deps.config, mailer, temporal, storage }),
    ...createExportActivities({ orm: deps.orm, config: deps.config, storage }),
    ...createRetentionActivities({ orm: deps.orm, config: deps.config, temporal }),
    ...createPublishActivities({ orm: deps.orm, config: deps.config, adapters, temporal }),
    ...createInboxActivities({ orm: deps.orm, config: deps.config, adapters }),
    ...createSyncActivities({
      orm: deps.orm,
      config: deps.config,
      adapters,
      temporal,
      storage,
      sentiment: deps.sentiment === null ? undefined : (deps.sentiment ?? createSentimentClassifier(deps.config)),
    }),
    ...createMediaActivities({ ...deps, storage }),
  };
}
