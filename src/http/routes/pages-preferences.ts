import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { readPreferenceLink } from '../../services/consent/preference-links.js';
import { applyPreferences, loadPreferences } from '../../services/consent/update-preferences.js';
import { applyTimezoneChoice, timezoneChoice } from '../../services/consent/set-person-timezone.js';
import { checkUnsubscribeLink, unsubscribeEmail } from '../../services/capture/unsubscribe-email.js';
import { strings, type PageLanguage } from '../../pages/i18n.js';
import { checkFormToken, issueFormToken } from '../../pages/form-token.js';
import { preparePageScope, requestLanguage, sendMessage, sendPage } from '../../pages/page-kit.js';
import { isSameOriginPost } from '../../pages/security.js';
import type { CaptureOptions } from '../capture-options.js';

// A wildcard, not ":token": Fastify caps a named path parameter at 100 characters and signed tokens are longer.
const TokenParams = {
  type: 'object',
  properties: { '*': { type: 'string', maxLength: 2100 } },
  required: ['*'],
} as const;
type P = { '*': string };
type Body = { formToken?: string; topics?: string | string[]; action?: string; timezone?: unknown };
const NOTICES = {
  saved: 'prefsSaved',
  stopped: 'prefsStopped',
  unchanged: 'prefsNothingChanged',
  expired: 'errFormExpired',
} as const;

/** The preference page (signed link, no login) and the email one-click unsubscribe. */
export function preferencePages(ctx: ServiceContext, opts: CaptureOptions) {
  const secureCookie = opts.publicUrl.startsWith('https:');

  return async (app: FastifyInstance): Promise<void> => {
    await preparePageScope(app, ctx);
    const limit = app.rateLimit({
      max: opts.pagePostsPerIp ?? 30,
      timeWindow: 10 * 60_000,
      keyGenerator: (req) => `prefs-ip:${req.ip}`,
    });

    app.get<{ Params: P; Querystring: { lang?: string; done?: string } }>(
      '/p/prefs/*',
      {
        config: { auth: 'none' },
        schema: { hide: true, params: TokenParams },
      },
      async (req, reply) => {
        const link = readPreferenceLink(ctx, req.params['*']);
        if (!link.ok) return linkProblem(req, reply, link.reason);
        // The page's language (asked for, else the browser's, else the person's, else the business's) picks the
        // text and the topic names too.
        const view = await loadPreferences(ctx, link.claims.b, link.claims.p, (fallback) =>
          requestLanguage(req, fallback),
        );
        if (view.kind === 'missing') return linkProblem(req, reply, 'tampered');
        const pageLang =
          view.kind === 'ok'
            ? (view.pageLanguage as PageLanguage)
            : requestLanguage(req, view.business.policy.defaultLanguage);
        const t = strings(pageLang);
        if (view.kind === 'erased')
          return sendMessage(reply, 410, { lang: pageLang, title: '' }, 'prefsTitle', ['prefsErased'], {
            business: view.business.displayName,
          });
        const offered = view.topics.filter((x) => !x.locked).map((x) => x.key);
        const formToken = issueFormToken(
          ctx.keyring,
          req,
          reply,
          { f: 'prefs', b: view.business.id, p: link.claims.p, t: view.text?.hash ?? null, k: offered },
          { now: ctx.clock.now(), embed: false, secureCookie },
        );
        const notice =
          req.query.done && Object.hasOwn(NOTICES, req.query.done)
            ? t(NOTICES[req.query.done as keyof typeof NOTICES], { business: view.business.displayName })
            : null;
        const stateOf = (s: string | null) =>
          s === 'opted_in'
            ? ['on', t('prefsOn')]
            : s === 'pending'
              ? ['pending', t('prefsPending')]
              : ['off', t('prefsOff')];
        // The person's own zone for quiet hours (it wins over the one their number gives).
        const zone = await timezoneChoice(ctx, link.claims.b, link.claims.p);
        return sendPage(
          reply,
          200,
          'preferences',
          { lang: pageLang, title: t('prefsTitle', { business: view.business.displayName }), switcher: req },
          {
            business: view.business.displayName,
            notice,
            formToken,
            zone,
            text: view.text && !view.topics.every((x) => x.locked) ? view.text : null,
            action: `/p/prefs/${req.params['*']}?lang=${pageLang}`,
            topics: view.topics.map((x) => {
              const [stateClass, stateLabel] = stateOf(x.status);
              return {
                key: x.key,
                name: x.name,
                checked: x.status === 'opted_in' || x.status === 'pending',
                locked: x.locked,
                stateClass,
                stateLabel,
              };
            }),
          },
        );
      },
    );

    app.post<{ Params: P; Querystring: { lang?: string }; Body: Body }>(
      '/p/prefs/*',
      {
        config: { auth: 'none' },
        schema: { hide: true, params: TokenParams },
        onRequest: limit,
      },
      async (req, reply) => {
        const lang = requestLanguage(req);
        const link = readPreferenceLink(ctx, req.params['*']);
        if (!link.ok) return linkProblem(req, reply, link.reason);
        if (!isSameOriginPost(req, opts.publicUrl))
          return sendMessage(reply, 403, { lang, title: '' }, 'forbiddenTitle', ['forbiddenBody']);
        const body = (req.body ?? {}) as Body;
        const claims = checkFormToken(ctx.keyring, req, body.formToken, {
          f: 'prefs',
          b: link.claims.b,
          now: ctx.clock.now(),
        });
        const back = (done?: string) => `/p/prefs/${req.params['*']}?lang=${lang}${done ? `&done=${done}` : ''}`;
        // A stale or forged form changes nothing: show the page again, with the current state, and say so.
        if (!claims || claims.p !== link.claims.p) return reply.code(303).header('location', back('expired')).send();
        const checked = (Array.isArray(body.topics) ? body.topics : body.topics ? [body.topics] : []).filter(
          (x): x is string => typeof x === 'string',
        );
        const out = await applyPreferences(ctx, link.claims.b, link.claims.p, {
          action: body.action === 'stop_all' ? 'stop_all' : 'save',
          checked,
          offered: claims.k,
          textHash: claims.t,
          evidence: {
            ip: req.ip,
            userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
            pageUrl: `${opts.publicUrl}/p/prefs`,
            tokenId: link.claims.j,
          },
        });
        const zoneChanged =
          body.action !== 'stop_all' && (await applyTimezoneChoice(ctx, link.claims.b, link.claims.p, body.timezone));
        // Post/redirect/get: a reload never submits twice.
        return reply
          .code(303)
          .header('location', back(zoneChanged && out.result === 'unchanged' ? 'saved' : out.result))
          .send();
      },
    );

    app.get<{ Params: P }>(
      '/p/unsubscribe/*',
      {
        config: { auth: 'none' },
        schema: { hide: true, params: TokenParams },
      },
      async (req, reply) => {
        // Mail scanners fetch every link: a GET only asks; the POST unsubscribes.
        const link = await checkUnsubscribeLink(ctx, req.params['*']);
        if (!link.ok) return linkProblem(req, reply, link.reason);
        const lang = requestLanguage(req, link.business.policy.defaultLanguage);
        return sendPage(
          reply,
          200,
          'unsubscribe',
          { lang, title: strings(lang)('unsubTitle'), switcher: req },
          {
            business: link.business.displayName,
            action: `/p/unsubscribe/${req.params['*']}?lang=${lang}`,
          },
        );
      },
    );

    app.post<{ Params: P; Body: Record<string, unknown> }>(
      '/p/unsubscribe/*',
      {
        config: { auth: 'none' },
        schema: { hide: true, params: TokenParams },
        onRequest: limit,
      },
      async (req, reply) => {
        const link = await checkUnsubscribeLink(ctx, req.params['*']);
        if (!link.ok) return linkProblem(req, reply, link.reason);
        const lang = requestLanguage(req, link.business.policy.defaultLanguage);
        const oneClick = (req.body ?? {})['List-Unsubscribe'] === 'One-Click';
        const out = await unsubscribeEmail(ctx, link, {
          ip: req.ip,
          userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
          oneClick,
        });
        const paragraphs = out.optedOut ? (['unsubDone', 'unsubDoneWhatsApp'] as const) : (['unsubDone'] as const);
        return sendMessage(
          reply,
          200,
          { lang, title: '' },
          'unsubTitle',
          [...paragraphs],
          { business: link.business.displayName },
          'success',
        );
      },
    );
  };

  function linkProblem(req: FastifyRequest, reply: FastifyReply, reason: 'tampered' | 'expired') {
    const lang: PageLanguage = requestLanguage(req);
    return reason === 'expired'
      ? sendMessage(reply, 410, { lang, title: '' }, 'linkExpiredTitle', ['linkExpiredBodyGeneric'])
      : sendMessage(reply, 400, { lang, title: '' }, 'linkInvalidTitle', ['linkInvalidBody']);
  }
}
