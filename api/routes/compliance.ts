import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  DELETION_KINDS,
  DELETION_RISKS,
  DELETION_STATUSES,
  DeletionRequest,
  HOLD_KINDS,
  LegalHold,
  User,
} from '../../db/entities/index.ts';
import { audit } from '../../lib/audit.ts';
import { verifyAuditChain } from '../../lib/audit-chain.ts';
import {
  certificate,
  certificateHtml,
  deletionHistory,
  listRequests,
  requestTimeline,
  requestView,
  toCsv,
} from '../../lib/compliance.ts';
import { deletionUpdateFailure, restoreAccount } from '../../workflows/deletion.client.ts';
import { AppError, conflict, notFound } from '../errors.ts';
import { principalOf } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Strict, Timestamp, Uuid } from '../schemas.ts';
import { DeletionRequestView, submitDeletion } from './deletion.ts';

// The compliance API: for users with the instance role `compliance` (granted with the operator CLI,
// `npm run compliance -- grant <email>`). The CLI calls the same functions in lib/compliance.ts.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function requireCompliance(request: FastifyRequest): Promise<string> {
  const { userId } = principalOf(request);
  const user = await request.server.deps.orm.em.fork().findOne(User, userId, { fields: ['instanceRole'] });
  if (user?.instanceRole !== 'compliance') throw new AppError(403, 'FORBIDDEN', 'this needs the compliance role');
  return userId;
}

const Filter = Type.Object(
  {
    status: Type.Optional(Type.Enum(DELETION_STATUSES)),
    kind: Type.Optional(Type.Enum(DELETION_KINDS)),
    risk: Type.Optional(Type.Enum(DELETION_RISKS)),
    overdue: Type.Optional(Type.Boolean({ description: 'Open and past due now.' })),
    dueBefore: Type.Optional(Timestamp),
    dueAfter: Type.Optional(Timestamp),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);
type FilterQuery = {
  status?: (typeof DELETION_STATUSES)[number];
  kind?: (typeof DELETION_KINDS)[number];
  risk?: (typeof DELETION_RISKS)[number];
  overdue?: boolean;
  dueBefore?: string;
  dueAfter?: string;
  limit?: number;
};
const toFilter = (q: FilterQuery) => ({
  ...q,
  dueBefore: q.dueBefore ? new Date(q.dueBefore) : undefined,
  dueAfter: q.dueAfter ? new Date(q.dueAfter) : undefined,
});

const HoldView = Type.Object({
  id: Uuid,
  kind: Type.Enum(HOLD_KINDS),
  subjectKind: Type.Enum(DELETION_KINDS),
  subjectId: Type.String(),
  workspaceId: Type.Union([Uuid, Type.Null()]),
  reason: Type.String(),
  evidence: Type.String(),
  placedAt: Timestamp,
  releasedAt: Type.Union([Timestamp, Type.Null()]),
});
const holdView = (h: LegalHold) => ({
  id: h.id,
  kind: h.kind,
  subjectKind: h.subjectKind,
  subjectId: h.subjectId,
  workspaceId: h.workspaceId ?? null,
  reason: h.reason,
  evidence: h.evidence,
  placedAt: h.placedAt.toISOString(),
  releasedAt: h.releasedAt?.toISOString() ?? null,
});

export const complianceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm } = app.deps;
  const tags = ['compliance'];
  const IdParams = Strict({ requestId: Uuid });

  app.get(
    '/compliance/deletion-requests',
    {
      schema: {
        tags,
        summary: 'List and filter deletion requests',
        security: bearerSecurity,
        querystring: Filter,
        response: { 200: Type.Array(DeletionRequestView), ...commonErrors },
      },
    },
    async (request) => {
      await requireCompliance(request);
      return (await listRequests(orm.em.fork(), toFilter(request.query))).map(requestView);
    },
  );

  app.post(
    '/compliance/deletion-requests',
    {
      schema: {
        tags,
        summary: 'Record a deletion request received outside the product (e-mail, Google, a regulator)',
        security: bearerSecurity,
        body: Strict({
          kind: Type.Enum(DELETION_KINDS),
          subjectId: Type.String({ minLength: 1, maxLength: 200 }),
          workspaceId: Type.Optional(Uuid),
        }),
        response: { 202: DeletionRequestView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const by = await requireCompliance(request);
      const { kind, subjectId, workspaceId } = request.body;
      if (kind === 'platform_user' && !/^[a-z]+:.+$/.test(subjectId)) {
        throw new AppError(400, 'VALIDATION', 'a platform user is `<platform>:<platform user id>`', 'body.subjectId');
      }
      if (kind !== 'platform_user' && !UUID.test(subjectId)) {
        throw new AppError(400, 'VALIDATION', `a ${kind} is named by its id (a UUID)`, 'body.subjectId');
      }
      const created = await submitDeletion(
        app.deps,
        orm.em.fork(),
        { kind, subjectId, workspaceId: workspaceId ?? null, requestedBy: by, channel: 'operator' },
        request.log,
      );
      return reply.status(202).send(requestView(created));
    },
  );

  app.get(
    '/compliance/deletion-requests/:requestId',
    {
      schema: {
        tags,
        summary: "A deletion request's timeline: steps with their evidence, alerts and audit-chain positions",
        security: bearerSecurity,
        params: IdParams,
      },
    },
    async (request) => {
      await requireCompliance(request);
      const timeline = await requestTimeline(orm.em.fork(), request.params.requestId);
      if (!timeline) throw notFound('deletion request');
      return timeline;
    },
  );

  app.post(
    '/compliance/deletion-requests/:requestId/restore',
    {
      schema: {
        tags,
        summary: 'Restore an account within its deletion grace (for accounts that cannot sign in to restore)',
        security: bearerSecurity,
        params: IdParams,
        response: { 200: DeletionRequestView, ...commonErrors },
      },
    },
    async (request) => {
      const by = await requireCompliance(request);
      const em = orm.em.fork();
      const found = await em.findOne(DeletionRequest, request.params.requestId);
      if (!found) throw notFound('deletion request');
      if (found.kind !== 'account' || found.status !== 'in_grace') {
        throw conflict('NOT_IN_GRACE', 'only an account deletion within its grace can be restored');
      }
      try {
        await restoreAccount(app.deps.temporal, found.id, { byUserId: by });
      } catch (err) {
        if (deletionUpdateFailure(err) === 'NotInGrace') {
          throw conflict('NOT_IN_GRACE', 'only an account deletion within its grace can be restored');
        }
        throw err;
      }
      await em.refresh(found);
      return requestView(found);
    },
  );

  app.get(
    '/compliance/deletion-requests/:requestId/certificate',
    {
      schema: {
        tags,
        summary: 'Deletion certificate (JSON, or HTML with ?format=html)',
        security: bearerSecurity,
        params: IdParams,
        querystring: Type.Object(
          { format: Type.Optional(Type.Enum(['json', 'html'])) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      await requireCompliance(request);
      const cert = await certificate(orm.em.fork(), request.params.requestId);
      if (!cert) throw notFound('deletion request');
      if (request.query.format === 'html') return reply.type('text/html; charset=utf-8').send(certificateHtml(cert));
      return cert;
    },
  );

  app.get(
    '/compliance/deletion-history',
    {
      schema: {
        tags,
        summary: 'The deletion history (JSON, or CSV with ?format=csv)',
        security: bearerSecurity,
        querystring: Type.Object(
          { ...Filter.properties, format: Type.Optional(Type.Enum(['json', 'csv'])) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      await requireCompliance(request);
      const { format, ...filter } = request.query;
      const rows = await deletionHistory(orm.em.fork(), toFilter(filter));
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="deletion-history.csv"')
          .send(toCsv(rows));
      }
      return rows;
    },
  );

  app.get(
    '/compliance/audit/verify',
    {
      schema: {
        tags,
        summary: 'Verify the audit hash chain; names the first broken position',
        security: bearerSecurity,
      },
    },
    async (request) => {
      const by = await requireCompliance(request);
      const em = orm.em.fork();
      const result = await verifyAuditChain(em);
      // Access to the evidence is itself evidence.
      audit(em, {
        action: 'audit.verified',
        actorId: by,
        requestId: request.id,
        details: { ok: result.ok, head: result.head },
      });
      await em.flush();
      return result;
    },
  );

  app.get(
    '/compliance/legal-holds',
    {
      schema: {
        tags,
        summary: 'Legal and moderation holds',
        security: bearerSecurity,
        response: { 200: Type.Array(HoldView), ...commonErrors },
      },
    },
    async (request) => {
      await requireCompliance(request);
      return (await orm.em.fork().find(LegalHold, {}, { orderBy: { placedAt: 'desc' }, limit: 1000 })).map(holdView);
    },
  );

  app.post(
    '/compliance/legal-holds',
    {
      schema: {
        tags,
        summary: 'Place a hold: deletion of the subject is blocked and the reason recorded',
        security: bearerSecurity,
        body: Strict({
          kind: Type.Enum(HOLD_KINDS),
          subjectKind: Type.Enum(DELETION_KINDS),
          subjectId: Type.String({ minLength: 1, maxLength: 200 }),
          workspaceId: Type.Optional(Uuid),
          reason: Type.String({ minLength: 3, maxLength: 500 }),
          evidence: Type.String({ minLength: 1, maxLength: 500, description: 'Case number, order or ticket.' }),
        }),
        response: { 201: HoldView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const by = await requireCompliance(request);
      const hold = await orm.em.fork().transactional(async (em) => {
        const placed = em.create(LegalHold, {
          ...request.body,
          id: randomUUID(),
          workspaceId: request.body.workspaceId ?? null,
          placedBy: by,
          placedAt: new Date(),
        });
        audit(em, {
          action: 'legal_hold.placed',
          actorId: by,
          workspaceId: placed.workspaceId,
          targetType: 'legal_hold',
          targetId: placed.id,
          requestId: request.id,
          details: { kind: placed.kind, subjectKind: placed.subjectKind },
        });
        return placed;
      });
      return reply.status(201).send(holdView(hold));
    },
  );

  app.post(
    '/compliance/legal-holds/:holdId/release',
    {
      schema: {
        tags,
        summary: 'Release a hold (deletion requested later is no longer blocked)',
        security: bearerSecurity,
        params: Strict({ holdId: Uuid }),
        response: { 200: HoldView, ...commonErrors },
      },
    },
    async (request) => {
      const by = await requireCompliance(request);
      const em = orm.em.fork();
      const hold = await em.findOne(LegalHold, request.params.holdId);
      if (!hold) throw notFound('legal hold');
      if (!hold.releasedAt) {
        hold.releasedAt = new Date();
        hold.releasedBy = by;
        audit(em, {
          action: 'legal_hold.released',
          actorId: by,
          workspaceId: hold.workspaceId,
          targetType: 'legal_hold',
          targetId: hold.id,
          requestId: request.id,
        });
        await em.flush();
      }
      return holdView(hold);
    },
  );
};
