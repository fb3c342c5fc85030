import { ApiToken, LoginThrottle, Session, User } from './accounts.ts';
import { Connection, ConnectionTokens, Notice, OAuthState, UserIdentity } from './connections.ts';
import { MediaChunk, MediaDerivative, MediaFile, MediaText } from './media.ts';
import { ComplianceAlert, DataExport, DeletionRequest, DeletionStep, LegalHold } from './privacy.ts';
import {
  ApprovalLink,
  BoardColumn,
  Idea,
  Post,
  PostTag,
  PostTarget,
  PostVariant,
  PublishAttempt,
  Tag,
  Template,
} from './publishing.ts';
import { AuditEvent, RequestLog } from './records.ts';
import {
  InboxAttachment,
  InboxMessage,
  InboxReply,
  InboxThread,
  MetricMonthly,
  MetricPoint,
  SyncCursor,
  SyncedMedia,
  SyncState,
  WebhookEventRow,
} from './sync.ts';
import { Invitation, Membership, Workspace } from './workspaces.ts';

export * from './accounts.ts';
export * from './connections.ts';
export * from './media.ts';
export * from './privacy.ts';
export * from './publishing.ts';
export * from './records.ts';
export * from './sync.ts';
export * from './workspaces.ts';

export const ALL_ENTITIES = [
  User,
  Session,
  ApiToken,
  LoginThrottle,
  Workspace,
  Membership,
  Invitation,
  RequestLog,
  AuditEvent,
  OAuthState,
  Connection,
  ConnectionTokens,
  Notice,
  UserIdentity,
  DeletionRequest,
  DeletionStep,
  LegalHold,
  ComplianceAlert,
  DataExport,
  Tag,
  BoardColumn,
  Template,
  Idea,
  Post,
  PostTag,
  PostVariant,
  PostTarget,
  PublishAttempt,
  ApprovalLink,
  SyncState,
  SyncCursor,
  SyncedMedia,
  MetricPoint,
  MetricMonthly,
  InboxThread,
  InboxMessage,
  InboxAttachment,
  InboxReply,
  WebhookEventRow,
  MediaFile,
  MediaDerivative,
  MediaText,
  MediaChunk,
];
