// Operator CLI with the compliance API's powers, for staff at a terminal and for scripts:
//   npm run compliance -- <command> [options]
// It reads DATABASE_URL (and TEMPORAL_ADDRESS for `request`) like the rest of the system.
import { parseArgs } from 'node:util';
import { DELETION_KINDS, DELETION_RISKS, DELETION_STATUSES, type DeletionKind, User } from '../db/entities/index.ts';
import { closeORM, initORM } from '../db/orm.ts';
import { audit } from '../lib/audit.ts';
import { verifyAuditChain } from '../lib/audit-chain.ts';
import {
  certificate,
  certificateHtml,
  deletionHistory,
  listRequests,
  type RequestFilter,
  requestTimeline,
  requestView,
  toCsv,
} from '../lib/compliance.ts';
import { loadConfig } from '../lib/config.ts';
import { createDeletionRequest } from '../lib/deletion-requests.ts';
import { lazyClient } from '../lib/temporal.ts';
import { startDeletion } from '../workflows/deletion.client.ts';

const HELP = `usage: npm run compliance -- <command> [options]

  list [--status S] [--kind K] [--risk R] [--overdue] [--due-before ISO] [--due-after ISO]
                                 deletion requests, newest first (JSON lines)
  show <requestId>               a request's timeline: steps, evidence, alerts, audit positions
  certificate <requestId> [--html]
                                 the deletion certificate (JSON, or an HTML page)
  history [--csv] [filters as for list]
                                 the deletion history as JSON or CSV
  verify                         verify the audit hash chain; exit 1 and name the position if broken
  request <kind> <subjectId> [--workspace ID]
                                 record a request received by another channel and start it
  grant <email> | revoke <email> give or take the compliance role

statuses: ${DELETION_STATUSES.join(', ')}
kinds: ${DELETION_KINDS.join(', ')}
risks: ${DELETION_RISKS.join(', ')}`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    status: { type: 'string' },
    kind: { type: 'string' },
    risk: { type: 'string' },
    overdue: { type: 'boolean' },
    'due-before': { type: 'string' },
    'due-after': { type: 'string' },
    workspace: { type: 'string' },
    html: { type: 'boolean' },
    csv: { type: 'boolean' },
  },
});

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function date(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`--${name} must be an ISO date`);
  return d;
}

const filter = (): RequestFilter => ({
  status: oneOf('status', values.status, DELETION_STATUSES),
  kind: oneOf('kind', values.kind, DELETION_KINDS),
  risk: oneOf('risk', values.risk, DELETION_RISKS),
  overdue: values.overdue,
  dueBefore: date('due-before', values['due-before']),
  dueAfter: date('due-after', values['due-after']),
});

const print = (value: unknown) =>
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

const config = loadConfig();
const orm = await initORM(config.databaseUrl);
const em = () => orm.em.fork();
const [command, ...args] = positionals;

try {
  switch (command) {
    case 'list':
      for (const r of await listRequests(em(), filter())) print(JSON.stringify(requestView(r)));
      break;
    case 'show': {
      const timeline = await requestTimeline(em(), String(args[0]));
      if (!timeline) throw new Error(`no deletion request ${args[0]}`);
      print(timeline);
      break;
    }
    case 'certificate': {
      const cert = await certificate(em(), String(args[0]));
      if (!cert) throw new Error(`no deletion request ${args[0]}`);
      print(values.html ? certificateHtml(cert) : cert);
      break;
    }
    case 'history': {
      const rows = await deletionHistory(em(), filter());
      print(values.csv ? toCsv(rows).trimEnd() : rows);
      break;
    }
    case 'verify': {
      const m = em();
      const result = await verifyAuditChain(m);
      audit(m, { action: 'audit.verified', details: { ok: result.ok, head: result.head, via: 'cli' } });
      await m.flush();
      print(result);
      if (!result.ok) process.exitCode = 1;
      break;
    }
    case 'request': {
      const kind = oneOf('kind', args[0], DELETION_KINDS) as DeletionKind | undefined;
      if (!kind || !args[1]) throw new Error('usage: request <kind> <subjectId> [--workspace ID]');
      const { request } = await createDeletionRequest(
        em(),
        { kind, subjectId: args[1], workspaceId: values.workspace ?? null, requestedBy: null, channel: 'operator' },
        config.privacy,
      );
      const { client, connection } = lazyClient(config);
      try {
        await startDeletion(client, config, request);
      } finally {
        await connection.close();
      }
      print(requestView(request));
      break;
    }
    case 'grant':
    case 'revoke': {
      const m = em();
      const user = await m.findOne(User, { email: String(args[0]).toLowerCase() });
      if (!user) throw new Error(`no account ${args[0]}`);
      user.instanceRole = command === 'grant' ? 'compliance' : null;
      audit(m, {
        action: 'member.role_changed',
        targetType: 'user',
        targetId: user.id,
        details: { instanceRole: user.instanceRole ?? null, via: 'cli' },
      });
      await m.flush();
      print({ userId: user.id, instanceRole: user.instanceRole ?? null });
      break;
    }
    default:
      print(HELP);
      if (command && command !== 'help') process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`compliance: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await closeORM();
}
