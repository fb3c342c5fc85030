import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { PLATFORMS, THREAD_KINDS } from '../../platforms/types.ts';
import { User } from './accounts.ts';
import { Connection } from './connections.ts';
import { Workspace } from './workspaces.ts';

// Analytics and inbox synced from the platforms. Every row carries its workspace and connection,
// so tenant checks, deletion, retention and export reach it with one predicate.

/** Where a connection's sync stands; one row per connection, written once per pass. */
export const SYNC_STATES = ['idle', 'running', 'waiting', 'failed'] as const;
export type SyncStatus = (typeof SYNC_STATES)[number];

export const SyncState = defineEntity({
  name: 'SyncState',
  tableName: 'sync_states',
  properties: {
    connection: () => p.oneToOne(Connection).mapToPk().deleteRule('cascade').primary().owner(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    platform: p.enum(PLATFORMS),
    status: p.enum(SYNC_STATES).default('idle'),
    /** What it waits for (rate_limit until waitingUntil, token) or why the last pass failed. */
    statusReason: p.string().length(300).nullable(),
    waitingUntil: p.datetime().nullable(),
    passes: p.integer().default(0),
    lastPassStartedAt: p.datetime().nullable(),
    lastPassCompletedAt: p.datetime().nullable(),
    /**
     * The last pass the platform answered with the connection's token: proof the authorisation
     * still holds (YouTube's 30-day re-verification).
     */
    verifiedAt: p.datetime().nullable(),
    /** Metric rows written by the last completed pass (0 when nothing changed). */
    lastPassMetricRows: p.integer().default(0),
    lastPassMessages: p.integer().default(0),
  },
});
export type SyncState = InferEntity<typeof SyncState>;

/** One stream's position (page token, watermark); written with the rows of its page. */
export const SyncCursor = defineEntity({
  name: 'SyncCursor',
  tableName: 'sync_cursors',
  primaryKeys: ['connection', 'stream'],
  properties: {
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade').primary(),
    stream: p.string().length(40).primary(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    cursor: p.json<Record<string, unknown>>(),
    updatedAt: p.datetime(),
  },
});
export type SyncCursor = InferEntity<typeof SyncCursor>;

/** A post of a connected account as the platform lists it (the objects per-post metrics are about). */
export const SyncedMedia = defineEntity({
  name: 'SyncedMedia',
  tableName: 'synced_media',
  uniques: [{ properties: ['connection', 'externalId'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade'),
    platform: p.enum(PLATFORMS),
    externalId: p.string().length(200),
    mediaType: p.string().length(40).nullable(),
    permalink: p.string().length(500).nullable(),
    publishedAt: p.datetime(),
    fetchedAt: p.datetime(),
  },
});
export type SyncedMedia = InferEntity<typeof SyncedMedia>;

export const METRIC_OBJECTS = ['account', 'media'] as const;

/**
 * Metric time series as observations: a row is written only when a value differs from the last
 * stored one for the same key (object, metric, day), so an unchanged account costs no writes and
 * every change is a row with its delta. `day` is set for daily series the platform reports per day;
 * running totals (followers, a post's likes) have no day and are dated by `observedAt`.
 */
export const MetricPoint = defineEntity({
  name: 'MetricPoint',
  tableName: 'metric_points',
  indexes: [
    { properties: ['connection', 'objectKind', 'objectId', 'metric', 'day', 'observedAt'] },
    { properties: ['workspace', 'metric', 'observedAt'] },
  ],
  properties: {
    id: p.bigint().primary().autoincrement(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade'),
    platform: p.enum(PLATFORMS),
    objectKind: p.enum(METRIC_OBJECTS),
    /** The post's platform id; '' for the account. */
    objectId: p.string().length(200),
    metric: p.string().length(60),
    day: p.string().columnType('date').nullable(),
    value: p.double(),
    /**
     * Change from the previous observation of the key (null for the first, and always null for
     * YouTube: its policies forbid storing derived metrics; the API derives it on read).
     */
    delta: p.double().nullable(),
    observedAt: p.datetime(),
  },
});
export type MetricPoint = InferEntity<typeof MetricPoint>;

/**
 * Analytics older than 24 months, aggregated per connection, metric and month: the per-post and
 * per-day detail is gone (first-party analytics retention; never YouTube, whose data is not aggregated).
 */
export const MetricMonthly = defineEntity({
  name: 'MetricMonthly',
  tableName: 'metric_monthly',
  uniques: [{ properties: ['connection', 'objectKind', 'metric', 'series', 'month'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade'),
    platform: p.enum(PLATFORMS),
    objectKind: p.enum(METRIC_OBJECTS),
    metric: p.string().length(60),
    /**
     * daily: the sum of the month's daily values (each day's latest reading); change: the sum of the
     * month's changes of running totals (over all posts), which adds up whichever posts moved.
     */
    series: p.enum(['daily', 'change'] as const),
    month: p.string().columnType('date'),
    value: p.double(),
    samples: p.integer(),
  },
});
export type MetricMonthly = InferEntity<typeof MetricMonthly>;

/** A conversation: the comments under one post, one DM conversation, or one mention. */
export const InboxThread = defineEntity({
  name: 'InboxThread',
  tableName: 'inbox_threads',
  uniques: [{ properties: ['connection', 'kind', 'externalId'] }],
  indexes: [{ properties: ['workspace', 'lastMessageAt'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade').index(),
    platform: p.enum(PLATFORMS),
    kind: p.enum(THREAD_KINDS),
    externalId: p.string().length(200),
    lastMessageAt: p.datetime(),
    unreadCount: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type InboxThread = InferEntity<typeof InboxThread>;

export const SENTIMENTS = ['positive', 'neutral', 'negative'] as const;
export type Sentiment = (typeof SENTIMENTS)[number];

/**
 * One message (comment, DM, mention). Deduplicated by the platform's id per connection, so a
 * webhook redelivery or a poll that sees it again changes nothing. `receivedAt` is our receipt,
 * the clock of the 30-day Instagram rule; `fetchedAt` the last time the platform showed it (YouTube).
 */
export const InboxMessage = defineEntity({
  name: 'InboxMessage',
  tableName: 'inbox_messages',
  uniques: [{ properties: ['connection', 'externalId'] }],
  indexes: [{ properties: ['workspace', 'sentAt'] }, { properties: ['platform', 'receivedAt'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade'),
    thread: () => p.manyToOne(InboxThread).mapToPk().deleteRule('cascade').index(),
    platform: p.enum(PLATFORMS),
    externalId: p.string().length(200),
    parentExternalId: p.string().length(200).nullable(),
    direction: p.enum(['in', 'out'] as const),
    authorExternalId: p.string().length(200),
    authorName: p.string().length(200).nullable(),
    body: p.text(),
    sentAt: p.datetime(),
    receivedAt: p.datetime(),
    fetchedAt: p.datetime(),
    readAt: p.datetime().nullable(),
    /** When the platform was told it was read (WhatsApp read receipts), after readAt. */
    readReceiptAt: p.datetime().nullable(),
    hidden: p.boolean().default(false),
    /** Removed at the platform (or by our moderation); the row stays as a tombstone without its body. */
    removedAt: p.datetime().nullable(),
    sentiment: p.enum(SENTIMENTS).nullable(),
    sentimentScore: p.double().nullable(),
    sentimentModel: p.string().length(60).nullable(),
    sentimentAt: p.datetime().nullable(),
    /** Failed classifications; tagging is retried later, never blocking ingestion. */
    sentimentAttempts: p.integer().default(0),
  },
});
export type InboxMessage = InferEntity<typeof InboxMessage>;

/** A file that came with a message (WhatsApp media), kept through the storage layer. */
export const InboxAttachment = defineEntity({
  name: 'InboxAttachment',
  tableName: 'inbox_attachments',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    message: () => p.manyToOne(InboxMessage).mapToPk().deleteRule('cascade').index(),
    externalId: p.string().length(200),
    mimeType: p.string().length(120).nullable(),
    sizeBytes: p.bigint('number').nullable(),
    sha256: p.string().length(64).nullable(),
    /** Storage key (lib/storage.ts); set once the bytes are stored. */
    storageKey: p.string().length(300).nullable(),
    status: p.enum(['pending', 'stored', 'failed'] as const).default('pending'),
    error: p.string().length(300).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type InboxAttachment = InferEntity<typeof InboxAttachment>;

/**
 * A reply written through Switchboard. Exactly once, like publishing: the attempt is recorded
 * (attemptState started) before the platform call; after a lost answer the next try asks the
 * platform's truth signal (findReply) before sending again.
 */
export const REPLY_STATUSES = ['pending', 'sending', 'sent', 'failed', 'unknown'] as const;
export type ReplyStatus = (typeof REPLY_STATUSES)[number];
export const REPLY_ATTEMPT_STATES = ['started', 'unknown', 'failed', 'succeeded'] as const;

export const InboxReply = defineEntity({
  name: 'InboxReply',
  tableName: 'inbox_replies',
  uniques: [{ properties: ['message', 'idempotencyKey'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade').index(),
    /** The message answered. */
    message: () => p.manyToOne(InboxMessage).mapToPk().deleteRule('cascade').index(),
    body: p.text(),
    status: p.enum(REPLY_STATUSES).default('pending'),
    statusReason: p.string().length(500).nullable(),
    attempts: p.integer().default(0),
    attemptState: p.enum(REPLY_ATTEMPT_STATES).nullable(),
    attemptStartedAt: p.datetime().nullable(),
    externalId: p.string().length(200).nullable(),
    /** The client's Idempotency-Key: a retried request finds the reply it already made. */
    idempotencyKey: p.string().length(200).nullable(),
    createdBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    sentAt: p.datetime().nullable(),
  },
});
export type InboxReply = InferEntity<typeof InboxReply>;

/**
 * A verified webhook event, stored before the platform gets its 200 and deduplicated by the
 * platform's event key (deliveries come at least once, in any order). The normalised message waits
 * in `payload` until the connection's sync workflow ingests it; the payload is then cleared.
 */
export const WebhookEventRow = defineEntity({
  name: 'WebhookEventRow',
  tableName: 'webhook_events',
  // Per connection: one platform account may be connected in several workspaces.
  uniques: [{ properties: ['connection', 'dedupeKey'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    platform: p.enum(PLATFORMS),
    dedupeKey: p.string().length(300),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade'),
    payload: p.json<Record<string, unknown>>().nullable(),
    receivedAt: p.datetime().index(),
    processedAt: p.datetime().nullable(),
    /** Why the event could not be ingested (it is then kept processed, not retried for ever). */
    error: p.string().length(300).nullable(),
  },
});
export type WebhookEventRow = InferEntity<typeof WebhookEventRow>;
