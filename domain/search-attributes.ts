import { defineSearchAttributeKey } from '@temporalio/common';

// Custom search attributes shared by every workflow, registered on the namespace by
// ensureTemporalSetup (lib/temporal.ts). Values are ids and enums only: Temporal stores them in clear.
export const WorkspaceId = defineSearchAttributeKey('WorkspaceId', 'KEYWORD');
/** Which process a workflow is: invitation, connection, publish, deletion, … */
export const ProcessKind = defineSearchAttributeKey('ProcessKind', 'KEYWORD');
/** Set on workflows bound to one social platform (connections, syncs, publishing). */
export const Platform = defineSearchAttributeKey('Platform', 'KEYWORD');
/** The process's own state (pending, accepted, at-risk, overdue, …), for filtering in Temporal UI. */
export const ProcessState = defineSearchAttributeKey('ProcessState', 'KEYWORD');
/** The deadline or due time that matters for this process (expiry, publish time, legal deadline). */
export const DueAt = defineSearchAttributeKey('DueAt', 'DATETIME');

export const ALL_SEARCH_ATTRIBUTES = [WorkspaceId, ProcessKind, Platform, ProcessState, DueAt];
