import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Clock, type FaultKind, type PlatformSim, type SimReply, type SimRequest } from './core.ts';
import { createFacebookSim } from './platforms/facebook.ts';
import { createGoogleSim } from './platforms/google.ts';
import { createInstagramSim } from './platforms/instagram.ts';
import { createLinkedInSim } from './platforms/linkedin.ts';
import { createOpenAISim } from './platforms/openai.ts';
import { createThreadsSim } from './platforms/threads.ts';
import { createTikTokSim } from './platforms/tiktok.ts';
import { createWhatsAppSim } from './platforms/whatsapp.ts';
import { createXSim } from './platforms/x.ts';
import { createS3Sim } from './s3.ts';
import { emitWebhooks, type WebhookRequest } from './webhooks.ts';

// One HTTP server for every simulated platform: /<platform>/… speaks that platform's real paths and
// shapes (its hosts collapse onto the prefix), /_admin/… is the control API for tests and demos.

export interface Simulator {
  url: string;
  clock: Clock;
  platforms: Map<string, PlatformSim>;
  /** Puts every platform back to its seeded state (accounts, policies; no grants, calls or faults). */
  reset(): void;
  close(): Promise<void>;
}

const FACTORIES = {
  /** Google OIDC for Switchboard sign-in. */
  google: (clock: Clock) => createGoogleSim(clock, 'google'),
  youtube: (clock: Clock) => createGoogleSim(clock, 'youtube'),
  instagram: createInstagramSim,
  facebook: createFacebookSim,
  tiktok: createTikTokSim,
  linkedin: createLinkedInSim,
  x: createXSim,
  threads: createThreadsSim,
  whatsapp: createWhatsAppSim,
  /** OpenAI (sentiment, embeddings, transcription); not a social platform. */
  openai: createOpenAISim,
  /** S3-compatible object storage (the `s3` storage driver); not a social platform either. */
  s3: createS3Sim,
} satisfies Record<string, (clock: Clock) => { sim: PlatformSim; seed(): void }>;

const FAULT_KINDS: FaultKind[] = ['http', 'throttle', 'drop', 'delay', 'drop_after', 'error_after'];

async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
const readBody = async (req: IncomingMessage) => (await readBytes(req)).toString('utf8');

function send(res: ServerResponse, reply: SimReply, clock: Clock): void {
  const headers: Record<string, string> = { date: new Date(clock.now()).toUTCString(), ...reply.headers };
  let body: string | Uint8Array = '';
  if (reply.body instanceof Uint8Array) {
    body = reply.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (typeof reply.body === 'string') {
    body = reply.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (reply.body !== undefined) {
    body = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(body);
}

function match(path: string, pattern: string | RegExp): Record<string, string> | undefined {
  if (typeof pattern === 'string') return path === pattern ? {} : undefined;
  const m = pattern.exec(path);
  return m ? { ...(m.groups ?? {}) } : undefined;
}

export async function startSimulator(opts: { port?: number; host?: string } = {}): Promise<Simulator> {
  const clock = new Clock();
  const entries = Object.entries(FACTORIES).map(([id, make]) => [id, make(clock)] as const);
  const platforms = new Map(entries.map(([id, e]) => [id, e.sim]));
  const reset = () => {
    clock.offsetMs = 0;
    for (const [, e] of entries) {
      e.sim.reset();
      e.seed();
    }
  };
  reset();

  /**
   * A public file host for publishing tests and demos: `/_media/<name>?bytes=N&type=<mime>` answers
   * N deterministic bytes, the way a CDN URL answers a platform that pulls media.
   */
  function mediaRequest(res: ServerResponse, u: URL) {
    const size = Number(u.searchParams.get('bytes') ?? 1024);
    if (!Number.isInteger(size) || size < 0 || size > 512 * 1024 * 1024) {
      return send(res, { status: 400, body: { error: 'bytes must be an integer up to 512 MiB' } }, clock);
    }
    const seed = Buffer.from(u.pathname);
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = seed[i % seed.length] as number;
    res.writeHead(200, {
      'content-type': u.searchParams.get('type') ?? 'application/octet-stream',
      'content-length': String(size),
      date: new Date(clock.now()).toUTCString(),
    });
    res.end(body);
  }

  async function platformRequest(sim: PlatformSim, req: IncomingMessage, res: ServerResponse, path: string, u: URL) {
    const route = sim.routes.find((r) => r.method === req.method && match(path, r.path));
    if (!route) {
      send(res, { status: 404, body: { error: `no simulated route ${req.method} ${path}` } }, clock);
      return;
    }
    const bytes = await readBytes(req);
    const rawBody = bytes.toString('utf8');
    const contentType = String(req.headers['content-type'] ?? '');
    let json: Record<string, unknown> | undefined;
    if (contentType.includes('json') && rawBody) {
      try {
        json = JSON.parse(rawBody);
      } catch {
        send(res, { status: 400, body: { error: 'malformed JSON' } }, clock);
        return;
      }
    }
    const form = contentType.includes('x-www-form-urlencoded') ? new URLSearchParams(rawBody) : new URLSearchParams();
    const auth = String(req.headers.authorization ?? '');
    const token = /^(Bearer|OAuth) /i.test(auth)
      ? auth.replace(/^\S+ /, '')
      : (u.searchParams.get('access_token') ?? form.get('access_token') ?? undefined);
    const simReq: SimRequest = {
      method: req.method ?? 'GET',
      path,
      query: u.searchParams,
      headers: req.headers,
      rawBody,
      bytes,
      form,
      json,
      params: match(path, route.path) ?? {},
      token,
    };
    const call = {
      seq: sim.nextSeq(),
      route: route.name,
      method: simReq.method,
      path,
      at: clock.now(),
      realAt: Date.now(),
    } as import('./core.ts').CallRecord;
    sim.calls.push(call);

    // Every answer of this platform takes at least this long (the knob `latencyMs`), like a real network.
    if (sim.knobs.latencyMs) await sleep(sim.knobs.latencyMs);
    const fault = sim.takeFault(route.name);
    if (fault) call.fault = fault.kind;
    if (fault?.kind === 'delay') await sleep(fault.delayMs ?? 1000);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    let reply: SimReply;
    if (fault?.kind === 'http') reply = sim.opts.serverError(sim, fault.status ?? 503);
    else if (fault?.kind === 'throttle') reply = sim.opts.throttle(sim, fault.retryAfterS ?? 60, route.name);
    else {
      const limited = sim.hitWindow(route.name);
      reply = limited?.retryAfterS
        ? sim.opts.throttle(sim, limited.retryAfterS, route.name)
        : await route.handler(simReq);
    }
    if (fault?.kind === 'drop_after') {
      call.status = reply.status;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'error_after') reply = sim.opts.serverError(sim, fault.status ?? 502);
    call.status = reply.status;
    send(res, reply, clock);
  }

  async function adminRequest(req: IncomingMessage, res: ServerResponse, path: string, u: URL) {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return send(res, { status: 400, body: { error: 'malformed JSON' } }, clock);
    }
    const ok = (data: unknown = { ok: true }) => send(res, { status: 200, body: data }, clock);
    const bad = (message: string) => send(res, { status: 400, body: { error: message } }, clock);
    if (path === '/health') return ok({ ok: true, now: new Date(clock.now()).toISOString() });
    if (path === '/reset' && req.method === 'POST') {
      reset();
      return ok();
    }
    if (path === '/clock') {
      if (req.method === 'POST') {
        const ms = Number(body.advanceMs);
        if (!Number.isFinite(ms) || ms < 0) return bad('advanceMs must be a non-negative number');
        clock.advance(ms);
      }
      return ok({ now: new Date(clock.now()).toISOString(), offsetMs: clock.offsetMs });
    }
    if (path === '/webhooks' && req.method === 'POST') {
      const sim = platforms.get(String(body.platform));
      if (!sim) return bad('unknown platform');
      return ok(await emitWebhooks(sim, body as unknown as WebhookRequest));
    }
    if (path === '/platforms') {
      return ok(
        [...platforms.values()].map((s) => ({ id: s.id, policy: s.policy, accounts: [...s.accounts.values()] })),
      );
    }
    const m = /^\/(?<platform>[a-z]+)\/(?<what>[a-z/]+)$/.exec(path);
    const sim = m?.groups ? platforms.get(m.groups.platform as string) : undefined;
    if (!sim || !m?.groups) return send(res, { status: 404, body: { error: 'unknown admin path' } }, clock);
    const what = m.groups.what;
    const accountGrants = (accountId: unknown) =>
      [...sim.grants.values()].filter((g) => accountId === undefined || g.accountId === accountId);
    switch (`${req.method} ${what}`) {
      case 'GET accounts':
        return ok([...sim.accounts.values()]);
      case 'POST accounts': {
        if (typeof body.id !== 'string' || typeof body.name !== 'string') return bad('id and name are required');
        return ok(sim.addAccount(body as never));
      }
      case 'POST consent':
        sim.nextConsent = body as typeof sim.nextConsent;
        return ok();
      case 'GET policy':
        return ok(sim.policy);
      case 'PATCH policy':
        Object.assign(sim.policy, body);
        return ok(sim.policy);
      case 'GET knobs':
        return ok(sim.knobs);
      case 'PATCH knobs':
        Object.assign(sim.knobs, body);
        return ok(sim.knobs);
      case 'POST faults': {
        const kind = body.kind as FaultKind;
        if (!FAULT_KINDS.includes(kind)) return bad(`kind must be one of ${FAULT_KINDS.join(', ')}`);
        sim.faults.push({
          route: typeof body.route === 'string' ? body.route : '*',
          kind,
          remaining: Number(body.count ?? 1),
          after: body.after === undefined ? undefined : Number(body.after),
          status: body.status as number | undefined,
          retryAfterS: body.retryAfterS as number | undefined,
          delayMs: body.delayMs as number | undefined,
        });
        return ok(sim.faults);
      }
      case 'DELETE faults':
        sim.faults = [];
        return ok();
      case 'POST grants/revoke': {
        const grants = accountGrants(body.accountId);
        for (const g of grants) sim.revokeGrant(g.id, String(body.reason ?? 'revoked'));
        return ok({ revoked: grants.length });
      }
      case 'POST tokens/expire': {
        let expired = 0;
        for (const t of sim.tokens.values()) {
          const grant = sim.grants.get(t.grantId);
          if (t.kind === 'access' && (body.accountId === undefined || grant?.accountId === body.accountId)) {
            t.expiresAt = clock.now();
            expired++;
          }
        }
        return ok({ expired });
      }
      case 'GET grants':
        return ok(accountGrants(u.searchParams.get('accountId') ?? undefined));
      case 'POST tokens': {
        const account = sim.accounts.get(String(body.accountId ?? sim.firstAccount().id));
        if (!account) return bad('unknown accountId');
        const scopes = Array.isArray(body.scopes) ? body.scopes.map(String) : [];
        const ttlS = body.ttlS === undefined ? undefined : body.ttlS === null ? null : Number(body.ttlS);
        return ok({ accountId: account.id, accessToken: sim.mintToken(account.id, scopes, ttlS).value });
      }
      case 'GET jobs':
        return ok([...sim.jobs.values()].map((j) => ({ ...j, phase: sim.jobPhase(j) })));
      case 'POST jobs/fail': {
        if (typeof body.kind !== 'string' || typeof body.reason !== 'string')
          return bad('kind and reason are required');
        const job = typeof body.id === 'string' ? sim.jobs.get(body.id) : undefined;
        if (body.id !== undefined && !job) return bad('unknown job id');
        if (job) job.failure = body.reason;
        else sim.jobFailures.push({ kind: body.kind, reason: body.reason, remaining: Number(body.count ?? 1) });
        return ok({ failing: job ? [job.id] : [], upcoming: sim.jobFailures });
      }
      case 'GET tokens':
        return ok([...sim.tokens.values()].map((t) => ({ ...t, usable: sim.check(t.value, t.kind).ok })));
      case 'GET content':
        return ok({ posts: sim.content.posts, messages: sim.content.messages });
      case 'POST content/seed': {
        if (typeof body.accountId !== 'string') return bad('accountId is required');
        // A platform may give the ids its own shape (numeric, URNs); the store defaults to UUIDs.
        return ok(sim.content.seed(clock.now(), body as never, sim.contentId));
      }
      case 'POST content/bump': {
        if (typeof body.metric !== 'string' || typeof body.by !== 'number') return bad('metric and by are required');
        if (!sim.content.bump(body as never)) return bad('unknown post or account');
        return ok();
      }
      case 'POST content/messages': {
        if (typeof body.accountId !== 'string' || typeof body.threadId !== 'string' || typeof body.text !== 'string')
          return bad('accountId, threadId and text are required');
        const message = sim.content.addMessage(
          sim.content.message({
            id: typeof body.id === 'string' ? body.id : sim.contentId(),
            kind: 'comment',
            authorId: 'fan',
            authorName: 'Fan',
            createdAt: clock.now(),
            ...(body as object),
          } as never),
        );
        // deliverTo: also send the platform's signed webhook for it (duplicated or delayed on request).
        if (typeof body.deliverTo === 'string') {
          if (!sim.webhookFor) return bad(`${sim.id} sends no inbox webhooks`);
          const delivery = await emitWebhooks(sim, {
            platform: sim.id,
            url: body.deliverTo,
            events: [sim.webhookFor(message)],
            duplicate: body.duplicate as number | undefined,
          });
          return ok({ ...message, delivery });
        }
        return ok(message);
      }
      case 'GET calls': {
        const route = u.searchParams.get('route');
        return ok(sim.calls.filter((c) => !route || c.route === route));
      }
      case 'GET writes': {
        const route = u.searchParams.get('route');
        return ok(sim.writes.filter((w) => !route || w.route === route));
      }
      default:
        return send(res, { status: 404, body: { error: 'unknown admin path' } }, clock);
    }
  }

  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://simulator');
    const [, first = '', ...rest] = u.pathname.split('/');
    const path = `/${rest.join('/')}`;
    const work =
      first === '_admin'
        ? adminRequest(req, res, path, u)
        : first === '_media'
          ? Promise.resolve(mediaRequest(res, u))
          : platforms.has(first)
            ? platformRequest(platforms.get(first) as PlatformSim, req, res, path, u)
            : Promise.resolve(send(res, { status: 404, body: { error: 'unknown platform' } }, clock));
    work.catch((err: Error) => {
      if (!res.headersSent) send(res, { status: 500, body: { error: err.message } }, clock);
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    clock,
    platforms,
    reset,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
