import fp from 'fastify-plugin';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { mergeExpositions } from '../../lib/prometheus.ts';

/** Prometheus metrics: the API's own, plus each worker's Temporal SDK metrics (WORKER_METRICS_URLS). */
export const metricsPlugin = fp(async (app) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_api_' });
  const duration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'API request duration by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const workerUp = new Gauge({
    name: 'switchboard_worker_metrics_up',
    help: '1 when the worker metrics endpoint answered the last scrape.',
    labelNames: ['url'] as const,
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get(
    '/metrics',
    { config: { public: true, skipRequestLog: true }, schema: { hide: true } },
    async (_request, reply) => {
      const workerTexts = await Promise.all(
        app.deps.config.workerMetricsUrls.map(async (url) => {
          try {
            const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            workerUp.set({ url }, 1);
            return await res.text();
          } catch {
            workerUp.set({ url }, 0);
            return '';
          }
        }),
      );
      const own = await registry.metrics();
      return reply.type(registry.contentType).send(mergeExpositions([own, ...workerTexts]));
    },
  );
});
