/**
 * What the hosted pages load besides the page itself: the stylesheet, the frame-height script of the embedded
 * form, and the widget script a business puts on its own site (its origin, slug and title filled in).
 */
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { getBusinessBySlug } from '../../storage/business/business-store.js';
import { strings } from '../../pages/i18n.js';
import { requestLanguage } from '../../pages/page-kit.js';
import { staticFile } from '../../lib/templates.js';
import type { CaptureOptions } from '../capture-options.js';

const SLUG = '^[a-z0-9][a-z0-9-]{1,63}$';
export const SLUG_PARAMS = {
  type: 'object',
  properties: { businessSlug: { type: 'string', pattern: SLUG } },
  required: ['businessSlug'],
} as const;
const Params = SLUG_PARAMS;

export function registerPageAssets(app: FastifyInstance, ctx: ServiceContext, opts: CaptureOptions): void {
  app.get('/p/assets/pages.css', { config: { auth: 'none' }, schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(staticFile('pages.css')),
  );

  app.get('/p/assets/frame-height.js', { config: { auth: 'none' }, schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(staticFile('frame-height.js')),
  );

  app.get<{ Params: { businessSlug: string } }>(
    '/p/:businessSlug/widget.js',
    { config: { auth: 'none' }, schema: { hide: true, params: Params } },
    async (req, reply) => {
      const business = await getBusinessBySlug(ctx.database.db, req.params.businessSlug);
      if (!business)
        return reply.code(404).type('application/javascript; charset=utf-8').send('/* Optline: no such business */\n');
      // Values land inside single-quoted JS strings: JSON-escape, then make quotes and "<" inert.
      const js = (s: string) => JSON.stringify(s).slice(1, -1).replace(/'/g, '\\u0027').replace(/</g, '\\u003c');
      const body = staticFile('widget.js')
        .replaceAll('__ORIGIN__', js(opts.publicUrl))
        .replaceAll('__SLUG__', js(business.slug))
        .replaceAll(
          '__TITLE__',
          js(
            strings(requestLanguage(req, business.policy.defaultLanguage))('optInTitle', {
              business: business.displayName,
            }),
          ),
        );
      return reply
        .type('application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );
}
