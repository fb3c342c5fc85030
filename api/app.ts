import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../lib/config.ts';
import { loggerOptions } from '../lib/logger.ts';
import { createAdapters } from '../platforms/index.ts';
import type { AppDeps } from './context.ts';
import { installErrorHandling } from './errors.ts';
import { authPlugin } from './plugins/auth.ts';
import { healthPlugin } from './plugins/health.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { requestLogPlugin } from './plugins/request-log.ts';
import { accountRoutes } from './routes/accounts.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { boardRoutes } from './routes/board.ts';
import { complianceRoutes } from './routes/compliance.ts';
import { connectionRoutes } from './routes/connections.ts';
import { deletionRoutes } from './routes/deletion.ts';
import { exportsRoutes } from './routes/exports.ts';
import { googleAuthRoutes } from './routes/google-auth.ts';
import { inboxRoutes } from './routes/inbox.ts';
import { invitationRoutes } from './routes/invitations.ts';
import { mediaRoutes } from './routes/media.ts';
import { memberRoutes } from './routes/members.ts';
import { metaRoutes } from './routes/meta.ts';
import { postRoutes } from './routes/posts.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { workspaceRoutes } from './routes/workspaces.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A hop count becomes the function form (trust the n nearest hops), which Fastify's types accept. */
function proxyTrust(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

export interface BuildOptions {
  /** false silences logs (tests); defaults to pino at the configured level. */
  logger?: boolean;
  /** Where log lines go (default stdout); tests capture them to check redaction. */
  logStream?: { write(line: string): void };
  logLevel?: string;
}

export async function buildApp(deps: AppDeps, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      opts.logger === false
        ? false
        : {
            ...loggerOptions(opts.logLevel ?? deps.config.logLevel, 'api'),
            ...(opts.logStream ? { stream: opts.logStream } : {}),
          },
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: proxyTrust(deps.config.trustProxy),
    requestIdHeader: false,
    // Accept a caller's X-Request-Id when it is safe to log; otherwise mint one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('deps', deps);
  // One set of platform adapters for every route (capabilities, authorize URLs, webhook checks).
  app.decorate('adapters', createAdapters(deps.config.platforms));
  // JSON only: any other body type is a 415, not a string that fails validation later.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: '0.1.0',
        description:
          'Social-media operations. Every long-running process is a Temporal workflow; this API starts, signals and reads them. Errors are `{ error: { code, message, field?, requestId } }`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A session token (sbs_…) or an API token (sbt_…)' },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
  app.addHook('onRoute', (route) => {
    // Swagger UI's own routes are public and not worth a request-log row.
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true, skipRequestLog: true };
  });

  await app.register(authPlugin);
  await app.register(requestLogPlugin);
  await app.register(metricsPlugin);
  await app.register(healthPlugin);
  for (const routes of [
    accountRoutes,
    sessionRoutes,
    googleAuthRoutes,
    tokenRoutes,
    workspaceRoutes,
    memberRoutes,
    invitationRoutes,
    connectionRoutes,
    metaRoutes,
    exportsRoutes,
    deletionRoutes,
    complianceRoutes,
    boardRoutes,
    approvalRoutes,
    postRoutes,
    analyticsRoutes,
    inboxRoutes,
    mediaRoutes,
    webhookRoutes,
  ]) {
    await app.register(routes, { prefix: '/v1' });
  }
  return app;
}
