import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { expect } from 'vitest';
import type { MediaRef, PlatformId } from '../../platforms/types.ts';
import type { WriteRecord } from '../../simulators/core.ts';
import type { Simulator } from '../../simulators/server.ts';
import { publishPolicy, schedulePublish } from '../../workflows/publish.client.ts';
import type { PublishPolicy } from '../../workflows/publish.messages.ts';
import { bearer, createWorkspace, signUp, sql, type TestSystem } from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// Shared by the publishing tests: real connections through the API, posts seeded in PostgreSQL,
// and what each simulator shows about the writes it received.

/** Every platform with a feed; WhatsApp sends messages and has no publisher. */
export const PUBLISHING_PLATFORMS = ['youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads'] as const;
export type PublishingPlatform = (typeof PUBLISHING_PLATFORMS)[number];

/** The route whose call makes the post public (where faults go); its write is recorded as `publish`. */
export const COMMIT_ROUTE: Record<PublishingPlatform, string> = {
  youtube: 'upload',
  tiktok: 'upload',
  instagram: 'publish',
  threads: 'publish',
  facebook: 'publish',
  linkedin: 'publish',
  x: 'publish',
};

/** Short waits, so waits and retries happen within a test. */
export const TEST_POLICY: PublishPolicy = publishPolicy({
  pollMaxMs: 500,
  processingTimeoutMs: 120_000,
  reconnectWaitMs: 3_000,
  reconnectCheckMs: 500,
  retryInitialMs: 200,
  retryMaxMs: 2_000,
  rateLimitWaitMs: 1_000,
});

export function media(sim: Simulator, kind: MediaRef['kind'], mimeType: string, sizeBytes = 4096): MediaRef {
  return {
    url: `${sim.url}/_media/${randomUUID()}?bytes=${sizeBytes}&type=${encodeURIComponent(mimeType)}`,
    kind,
    mimeType,
    sizeBytes,
  };
}

/** A post each platform accepts, unique so duplicate guards never see an earlier test's text. */
export function contentFor(sim: Simulator, platform: PublishingPlatform, label = 'post') {
  const caption = `${label} ${randomUUID().slice(0, 8)} from Switchboard`;
  switch (platform) {
    case 'youtube':
      return {
        caption,
        media: [media(sim, 'video', 'video/mp4')],
        options: { title: `Video ${caption}`.slice(0, 90) },
      };
    case 'tiktok':
      return { caption, media: [media(sim, 'video', 'video/mp4')], options: { privacyLevel: 'SELF_ONLY' } };
    case 'instagram':
      return { caption, media: [media(sim, 'image', 'image/jpeg')], options: {} };
    default:
      return { caption, media: [] as MediaRef[], options: {} };
  }
}

export interface Workspace {
  token: string;
  userId: string;
  workspaceId: string;
}

export async function workspace(sys: TestSystem): Promise<Workspace> {
  const user = await signUp(sys.app, 'publisher');
  return { token: user.token, userId: user.id, workspaceId: await createWorkspace(sys.app, user.token) };
}

/** A real connection: authorize → simulated consent → callback, through the API and the connect workflow. */
export async function connect(
  sys: TestSystem,
  ws: Workspace,
  platform: PlatformId,
): Promise<{ id: string; externalId: string }> {
  const start = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${ws.workspaceId}/connections`,
    headers: bearer(ws.token),
    payload: { platform },
  });
  expect(start.statusCode, start.body).toBe(201);
  const query = await consent(start.json().authorizeUrl);
  const res = await sys.app.inject({ method: 'GET', url: `/v1/connections/callback?${query.toString()}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

export interface Seeded {
  postId: string;
  targetId: string;
  caption: string;
}

/** A post with one variant and one scheduled target, written the way the API writes them. */
export async function seedPost(
  sys: TestSystem,
  ws: Workspace,
  connectionId: string,
  platform: PlatformId,
  content: { caption: string; media: MediaRef[]; options: Record<string, unknown> },
  opts: { dueAt?: Date; requiresApproval?: boolean } = {},
): Promise<Seeded> {
  const postId = randomUUID();
  const targetId = randomUUID();
  const exec = (q: string, params: unknown[]) => sys.orm.em.getConnection().execute(q, params, 'run');
  await exec(
    `insert into posts (id, workspace_id, position, requires_approval, approval_state, content_version, created_by_id, created_at, updated_at)
       values (?, ?, 0, ?, ?, 1, ?, now(), now())`,
    [
      postId,
      ws.workspaceId,
      opts.requiresApproval ?? false,
      opts.requiresApproval ? 'pending' : 'not_required',
      ws.userId,
    ],
  );
  await exec(
    `insert into post_variants (id, workspace_id, post_id, platform, caption, media, options, updated_at) values (?, ?, ?, 'default', ?, ?, ?, now())`,
    [
      randomUUID(),
      ws.workspaceId,
      postId,
      content.caption,
      JSON.stringify(content.media),
      JSON.stringify(content.options),
    ],
  );
  await exec(
    `insert into post_targets (id, workspace_id, post_id, connection_id, platform, due_at, status, schedule_version, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, 'scheduled', 1, now(), now())`,
    [targetId, ws.workspaceId, postId, connectionId, platform, opts.dueAt ?? new Date()],
  );
  return { postId, targetId, caption: content.caption };
}

export function schedule(
  client: Client,
  taskQueue: string,
  ws: Workspace,
  targetId: string,
  platform: PlatformId,
  version = 1,
) {
  return schedulePublish(
    client,
    taskQueue,
    { id: targetId, workspaceId: ws.workspaceId, platform, scheduleVersion: version },
    TEST_POLICY,
  );
}

export interface TargetRow {
  status: string;
  status_reason: string | null;
  platform_post_id: string | null;
  permalink: string | null;
  published_at: Date | null;
}

export async function targetRow(sys: TestSystem, targetId: string): Promise<TargetRow | undefined> {
  const [row] = await sql<TargetRow>(
    sys.orm,
    'select status, status_reason, platform_post_id, permalink, published_at from post_targets where id = ?',
    [targetId],
  );
  return row;
}

/**
 * Public posts the simulator has received on a platform (its `publish` writes). Each test file has
 * its own simulator and publishes one post at a time, so a count before and after tells the posts
 * a scenario made.
 */
export async function publishCount(sim: Simulator, platform: PlatformId): Promise<number> {
  return (await admin<WriteRecord[]>(sim, 'GET', `/${platform}/writes?route=publish`)).length;
}
