import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../lib/metrics.js';

/**
 * GET /metrics (Prometheus text format) and the per-request count. Needs a platform admin key (ola_…) unless
 * OPTLINE_METRICS_PUBLIC=true (for a scraper on a private network). Called on the root instance, not
 * registered as a plugin, so the onResponse hook sees every route.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, opts: { public?: boolean } = {}): void {
  app.addHook('onResponse', (req, reply, done) => {
    metrics.httpRequests.inc({
      method: req.method,
      route: req.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
    done();
  });
  app.get(
    '/metrics',
    {
      config: { auth: opts.public ? 'none' : 'admin' },
      schema: {
        summary: 'Prometheus metrics (text exposition format); a platform admin key unless OPTLINE_METRICS_PUBLIC=true',
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text format', type: 'string' } },
      },
    },
    async (_req, reply) => {
      const body = await metrics.text();
      return reply.type(metrics.contentType).send(body);
    },
  );
}
