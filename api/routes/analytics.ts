import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from 'typebox';
import { Connection } from '../../db/entities/index.ts';
import { bestTimesToPost } from '../../domain/best-time.ts';
import { jsonList, sqlOf } from '../../lib/sql.ts';
import type { PlatformId } from '../../platforms/types.ts';
import { syncNow } from '../../workflows/sync.client.ts';
import { AppError, unavailable } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Strict, Timestamp, Uuid } from '../schemas.ts';

// Analytics read from PostgreSQL (what the connections' sync workflows stored), and the sync's own
// state. Series come from observations: a daily series takes each day's latest value, a running
// total its last value per period. YouTube numbers are shown as YouTube reported them; any change
// computed here is labelled as ours ("not from YouTube", as its policies require).

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', maxLength: 10, description: 'YYYY-MM-DD (UTC)' });
const GRANULARITIES = ['day', 'week', 'month'] as const;

const SeriesQuery = Strict({
  connectionId: Uuid,
  metric: Type.String({ minLength: 1, maxLength: 60 }),
  /** A post's platform id; absent: the account's series. */
  mediaId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  from: Day,
  to: Day,
  granularity: Type.Optional(Type.Enum(GRANULARITIES)),
});

const Point = Type.Object({
  period: Day,
  value: Type.Number(),
  /** Change from the previous period; null for the first. */
  change: Type.Union([Type.Number(), Type.Null()]),
});
const SeriesView = Type.Object({
  connectionId: Uuid,
  platform: Type.String(),
  metric: Type.String(),
  mediaId: Type.Union([Type.String(), Type.Null()]),
  granularity: Type.Enum(GRANULARITIES),
  /** daily: the platform reports a value per day (summed per period); total: a running total (its last value per period). */
  kind: Type.Union([Type.Literal('daily'), Type.Literal('total'), Type.Literal('none')]),
  points: Type.Array(Point),
  /** Set for YouTube: which fields Switchboard computed rather than YouTube reported. */
  notFromPlatform: Type.Optional(Type.String()),
});

const MetricsView = Type.Object({
  metrics: Type.Array(
    Type.Object({
      metric: Type.String(),
      objectKind: Type.String(),
      kind: Type.String(),
      lastObservedAt: Timestamp,
    }),
  ),
});

const SyncView = Type.Object({
  connectionId: Uuid,
  status: Type.String(),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  waitingUntil: Type.Union([Timestamp, Type.Null()]),
  passes: Type.Integer(),
  lastPassStartedAt: Type.Union([Timestamp, Type.Null()]),
  lastPassCompletedAt: Type.Union([Timestamp, Type.Null()]),
  verifiedAt: Type.Union([Timestamp, Type.Null()]),
  lastPassMetricRows: Type.Integer(),
  lastPassMessages: Type.Integer(),
  streams: Type.Array(Type.Object({ stream: Type.String(), updatedAt: Timestamp })),
});

const AudienceView = Type.Object({
  connectionId: Uuid,
  platform: Type.String(),
  /** When the newest breakdown was read; null when the platform reported none (or offers none). */
  observedAt: Type.Union([Timestamp, Type.Null()]),
  /** Per dimension (age, gender, age_gender, country, city, seniority, function, industry), largest first. */
  dimensions: Type.Record(
    Type.String(),
    Type.Array(
      Type.Object({ value: Type.String(), count: Type.Optional(Type.Number()), percent: Type.Optional(Type.Number()) }),
    ),
  ),
});

const BestTimesQuery = Strict({
  connectionId: Uuid,
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA timezone; default UTC' })),
  windowHours: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(3)])),
});
const BestTimesView = Type.Object({
  connectionId: Uuid,
  timezone: Type.String(),
  windowHours: Type.Integer(),
  posts: Type.Integer(),
  method: Type.String(),
  reason: Type.Optional(Type.String()),
  slots: Type.Array(
    Type.Object({
      weekday: Type.Integer(),
      weekdayName: Type.String(),
      startHour: Type.Integer(),
      endHour: Type.Integer(),
      score: Type.Number(),
      samples: Type.Integer(),
      confidence: Type.String(),
    }),
  ),
});

const MAX_PERIODS = 1_000;

/** Daily series that report a level (how many), not a flow (how many more): periods take their last day. */
const LEVEL_METRICS = ['followers', 'following', 'fans', 'media_count', 'video_count'];

const isCalendarDay = (value: string) => {
  const at = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(at.getTime()) && at.toISOString().slice(0, 10) === value;
};

/** Metrics that count engagement with a post, wherever the platform reports them. */
const ENGAGEMENT_METRICS = ['likes', 'comments', 'shares', 'saves', 'replies', 'reposts', 'quotes', 'bookmarks'];
const REACH_METRICS = ['reach', 'views', 'impressions'];

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);
const dayText = (d: Date | string) => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

export const analyticsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const tags = ['analytics'];

  async function connectionOf(workspaceId: string, connectionId: string, field: string) {
    const conn = await orm.em.fork().findOne(Connection, { id: connectionId, workspace: workspaceId });
    if (!conn) throw new AppError(404, 'NOT_FOUND', 'connection not found', field);
    return conn;
  }

  app.get(
    '/workspaces/:workspaceId/analytics/series',
    {
      schema: {
        tags,
        summary: 'A metric over time for a connection or one of its posts',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: SeriesQuery,
        response: { 200: SeriesView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const q = request.query as Static<typeof SeriesQuery>;
      for (const field of ['from', 'to'] as const) {
        if (!isCalendarDay(q[field])) {
          throw new AppError(
            400,
            'VALIDATION_FAILED',
            `querystring.${field} is not a calendar day`,
            `querystring.${field}`,
          );
        }
      }
      if (q.from > q.to)
        throw new AppError(400, 'VALIDATION_FAILED', 'querystring.from must not be after to', 'querystring.from');
      const granularity = q.granularity ?? 'day';
      const days = (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000;
      if (days / { day: 1, week: 7, month: 28 }[granularity] > MAX_PERIODS) {
        throw new AppError(
          400,
          'VALIDATION_FAILED',
          `querystring.from: at most ${MAX_PERIODS} ${granularity}s per request`,
          'querystring.from',
        );
      }
      const conn = await connectionOf(workspaceId, q.connectionId, 'querystring.connectionId');
      const objectKind = q.mediaId ? 'media' : 'account';
      const objectId = q.mediaId ?? '';
      const sql = sqlOf(orm.em.fork());
      const key = [conn.id, objectKind, objectId, q.metric];
      const [{ daily, total } = { daily: false, total: false }] = await sql.execute<
        { daily: boolean; total: boolean }[]
      >(
        `select coalesce(bool_or(day is not null), false) as daily, coalesce(bool_or(day is null), false) as total
         from metric_points where connection_id = ? and object_kind = ? and object_id = ? and metric = ?`,
        key,
      );
      let rows: { period: string | Date; value: number }[] = [];
      if (daily) {
        // Per day its latest reading; longer periods sum flows (views) and take the last day of levels (followers).
        const combine = LEVEL_METRICS.includes(q.metric)
          ? '(array_agg(d.value order by d.day desc))[1]'
          : 'sum(d.value)';
        rows = await sql.execute(
          `select date_trunc(?, d.day)::date as period, ${combine}::float8 as value from (
             select distinct on (day) day, value from metric_points
             where connection_id = ? and object_kind = ? and object_id = ? and metric = ? and day between ?::date and ?::date
             order by day, observed_at desc, id desc) d
           group by 1 order by 1`,
          [granularity, ...key, q.from, q.to],
        );
      } else if (total) {
        // A running total is stored when it changes: each period shows the value it had at its end,
        // carried forward from the last change (which may lie before `from`).
        rows = await sql.execute(
          `select p.period, (
             select m.value from metric_points m
             where m.connection_id = ? and m.object_kind = ? and m.object_id = ? and m.metric = ? and m.day is null
               and m.observed_at < p.period_end
             order by m.observed_at desc, m.id desc limit 1)::float8 as value
           from (select g::date as period, ((g + ('1 ' || ?)::interval)::timestamp at time zone 'UTC') as period_end
                 from generate_series(date_trunc(?, ?::date), ?::date, ('1 ' || ?)::interval) g) p
           order by p.period`,
          [...key, granularity, granularity, q.from, q.to, granularity],
        );
        rows = rows.filter((r) => r.value !== null);
      }
      const points = rows.map((r, i) => ({
        period: dayText(r.period),
        value: Number(r.value),
        change: i === 0 ? null : Number(r.value) - Number(rows[i - 1]!.value),
      }));
      return {
        connectionId: conn.id,
        platform: conn.platform,
        metric: q.metric,
        mediaId: q.mediaId ?? null,
        granularity,
        kind: daily ? ('daily' as const) : total ? ('total' as const) : ('none' as const),
        points,
        ...(conn.platform === 'youtube'
          ? { notFromPlatform: 'change (computed by Switchboard, not from YouTube); weekly and monthly sums' }
          : {}),
      };
    },
  );

  app.get(
    '/workspaces/:workspaceId/analytics/metrics',
    {
      schema: {
        tags,
        summary: 'The metrics stored for a connection',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: Strict({ connectionId: Uuid }),
        response: { 200: MetricsView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const conn = await connectionOf(workspaceId, request.query.connectionId, 'querystring.connectionId');
      const rows = await sqlOf(orm.em.fork()).execute<
        { metric: string; object_kind: string; daily: boolean; last: Date }[]
      >(
        `select metric, object_kind, bool_or(day is not null) as daily, max(observed_at) as last
         from metric_points where connection_id = ? group by metric, object_kind order by object_kind, metric`,
        [conn.id],
      );
      return {
        metrics: rows.map((r) => ({
          metric: r.metric,
          objectKind: r.object_kind,
          kind: r.daily ? 'daily' : 'total',
          lastObservedAt: iso(r.last) as string,
        })),
      };
    },
  );

  app.get(
    '/workspaces/:workspaceId/analytics/best-times',
    {
      schema: {
        tags,
        summary: 'Best times to post, from the engagement of the connection’s own posts',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: BestTimesQuery,
        response: { 200: BestTimesView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const q = request.query as Static<typeof BestTimesQuery>;
      const timezone = q.timezone ?? 'UTC';
      try {
        new Intl.DateTimeFormat('en', { timeZone: timezone });
      } catch {
        throw new AppError(
          400,
          'VALIDATION_FAILED',
          'querystring.timezone is not an IANA timezone',
          'querystring.timezone',
        );
      }
      const conn = await connectionOf(workspaceId, q.connectionId, 'querystring.connectionId');
      // Each post's latest running totals: engagement summed, reach where the platform gives one.
      const rows = await sqlOf(orm.em.fork()).execute<
        { published_at: Date; engagement: number; reach: number | null }[]
      >(
        `with latest as (
           select distinct on (object_id, metric) object_id, metric, value from metric_points
           where connection_id = ? and object_kind = 'media' and day is null
           order by object_id, metric, observed_at desc, id desc)
         select s.published_at,
                coalesce(sum(l.value) filter (where l.metric in (select jsonb_array_elements_text(?::jsonb))), 0)::float8 as engagement,
                max(l.value) filter (where l.metric in (select jsonb_array_elements_text(?::jsonb)))::float8 as reach
         from synced_media s join latest l on l.object_id = s.external_id
         where s.connection_id = ? group by s.external_id, s.published_at`,
        [conn.id, jsonList(ENGAGEMENT_METRICS), jsonList(REACH_METRICS), conn.id],
      );
      const result = bestTimesToPost(
        rows.map((r) => ({ publishedAt: new Date(r.published_at), engagement: Number(r.engagement), reach: r.reach })),
        timezone,
        { windowHours: q.windowHours ?? 1 },
      );
      return {
        connectionId: conn.id,
        timezone: result.timezone,
        windowHours: result.windowHours,
        posts: result.posts,
        method: result.method,
        ...(result.reason ? { reason: result.reason } : {}),
        slots: result.slots,
      };
    },
  );

  app.get(
    '/workspaces/:workspaceId/analytics/audience',
    {
      schema: {
        tags,
        summary: 'The audience of a connected account by age, gender, country, … (where the platform reports it)',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: Strict({ connectionId: Uuid }),
        response: { 200: AudienceView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const conn = await connectionOf(workspaceId, request.query.connectionId, 'querystring.connectionId');
      // Each breakdown's latest reading (metrics `audience.<dimension>.<value>`, or `audience_pct.…` in percent).
      const rows = await sqlOf(orm.em.fork()).execute<{ metric: string; value: number; observed_at: Date }[]>(
        `select distinct on (metric) metric, value, observed_at from metric_points
         where connection_id = ? and object_kind = 'account' and day is null
           and (metric like 'audience.%' or metric like 'audience\\_pct.%')
         order by metric, observed_at desc, id desc`,
        [conn.id],
      );
      const dimensions: Record<string, { value: string; count?: number; percent?: number }[]> = {};
      let latest: Date | null = null;
      for (const r of rows) {
        const [kind, dimension, ...rest] = r.metric.split('.');
        if (!dimension || !rest.length) continue;
        const entry = {
          value: rest.join('.'),
          ...(kind === 'audience_pct' ? { percent: r.value } : { count: r.value }),
        };
        dimensions[dimension] = [...(dimensions[dimension] ?? []), entry];
        if (!latest || new Date(r.observed_at) > latest) latest = new Date(r.observed_at);
      }
      for (const list of Object.values(dimensions))
        list.sort((a, b) => (b.count ?? b.percent ?? 0) - (a.count ?? a.percent ?? 0));
      return {
        connectionId: conn.id,
        platform: conn.platform,
        observedAt: iso(latest),
        dimensions,
      };
    },
  );

  app.get(
    '/workspaces/:workspaceId/connections/:connectionId/sync',
    {
      schema: {
        tags,
        summary: 'Where the connection’s analytics and inbox sync stands',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, connectionId: Uuid }),
        response: { 200: SyncView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, connectionId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const conn = await connectionOf(workspaceId, connectionId, 'params.connectionId');
      const sql = sqlOf(orm.em.fork());
      const [state] = await sql.execute<Record<string, unknown>[]>(
        'select * from sync_states where connection_id = ?',
        [conn.id],
      );
      const streams = await sql.execute<{ stream: string; updated_at: Date }[]>(
        'select stream, updated_at from sync_cursors where connection_id = ? order by stream',
        [conn.id],
      );
      return {
        connectionId: conn.id,
        status: String(state?.status ?? 'not_started'),
        statusReason: (state?.status_reason as string | null) ?? null,
        waitingUntil: iso(state?.waiting_until as Date | null),
        passes: Number(state?.passes ?? 0),
        lastPassStartedAt: iso(state?.last_pass_started_at as Date | null),
        lastPassCompletedAt: iso(state?.last_pass_completed_at as Date | null),
        verifiedAt: iso(state?.verified_at as Date | null),
        lastPassMetricRows: Number(state?.last_pass_metric_rows ?? 0),
        lastPassMessages: Number(state?.last_pass_messages ?? 0),
        streams: streams.map((s) => ({ stream: s.stream, updatedAt: iso(s.updated_at) as string })),
      };
    },
  );

  app.post(
    '/workspaces/:workspaceId/connections/:connectionId/sync',
    {
      schema: {
        tags,
        summary: 'Sync the connection now',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, connectionId: Uuid }),
        response: { 202: Type.Object({ connectionId: Uuid, requested: Type.Boolean() }), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { workspaceId, connectionId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const conn = await connectionOf(workspaceId, connectionId, 'params.connectionId');
      if (conn.status !== 'active') {
        throw new AppError(409, 'CONNECTION_NOT_ACTIVE', `the connection is ${conn.status}`, 'params.connectionId');
      }
      try {
        await syncNow(temporal, config.taskQueues.core, {
          connectionId: conn.id,
          workspaceId,
          platform: conn.platform as PlatformId,
        });
      } catch (err) {
        request.log.warn({ err, connectionId: conn.id }, 'could not reach the sync workflow');
        throw unavailable('the workflow service did not answer; try again');
      }
      reply.code(202);
      return { connectionId: conn.id, requested: true };
    },
  );
};
