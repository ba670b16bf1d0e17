import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { getBusinessBySlug, listTopics, type Business, type Topic } from '../../storage/business/business-store.js';
import { getCaptureSettings } from '../../storage/capture/capture-settings-store.js';
import { chooseOptInText } from '../../services/consent/choose-optin-text.js';
import { getText, type ConsentText } from '../../services/admin/manage-texts.js';
import { textShownOn } from '../../domain/consent/text-channels.js';
import { topicNameIn } from '../../domain/consent/topic-names.js';
import { submitWebOptIn } from '../../services/capture/submit-web-opt-in.js';
import { normalisePhone } from '../../lib/phone.js';
import { strings, parseAcceptLanguage, type PageLanguage } from '../../pages/i18n.js';
import { countryOptions, exampleNumber, isCountry } from '../../pages/countries.js';
import { checkFormToken, issueFormToken } from '../../pages/form-token.js';
import { checkInvitationLink } from '../../pages/invitation-link.js';
import { preparePageScope, requestLanguage, sendMessage, sendPage } from '../../pages/page-kit.js';
import { isSameOriginPost } from '../../pages/security.js';
import type { CaptureOptions } from '../capture-options.js';
import { registerPageAssets, SLUG_PARAMS as Params } from './pages-assets.js';

type Query = { topics?: string; lang?: string; embed?: string; inv?: string; country?: string };
type Body = { formToken?: string; topics?: string | string[]; country?: string; phone?: string; inv?: string };

const QuerySchema = {
  type: 'object',
  properties: {
    topics: { type: 'string', maxLength: 1000 },
    lang: { type: 'string', maxLength: 15 },
    embed: { type: 'string', maxLength: 1 },
    inv: { type: 'string', maxLength: 2100 },
    country: { type: 'string', maxLength: 2 },
  },
} as const;

/** Topics a page may offer: live, and of a category the business's policy allows. */
const offerable = (business: Business, topics: Topic[]) =>
  topics.filter((t) => t.archivedAt === null && business.policy.allowedCategories.includes(t.category));

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The hosted opt-in page: GET renders it (no script needed), POST records the choice (or starts the WhatsApp
 * ownership check). ?embed=1 is the compact variant the widget frames.
 */
export function hostedOptInPage(ctx: ServiceContext, opts: CaptureOptions) {
  const secureCookie = opts.publicUrl.startsWith('https:');
  const perIp = opts.pagePostsPerIp ?? 30;
  const perPhone = opts.pagePostsPerPhone ?? 5;

  return async (app: FastifyInstance): Promise<void> => {
    await preparePageScope(app, ctx);

    registerPageAssets(app, ctx, opts);

    app.get<{ Params: { businessSlug: string }; Querystring: Query }>(
      '/p/:businessSlug/opt-in',
      {
        config: { auth: 'none' },
        schema: { hide: true, params: Params, querystring: QuerySchema },
      },
      async (req, reply) => {
        const business = await getBusinessBySlug(ctx.database.db, req.params.businessSlug);
        const embed = req.query.embed === '1';
        if (!business)
          return sendMessage(reply, 404, { lang: requestLanguage(req), title: '', embed }, 'notFoundTitle', [
            'notFoundBody',
          ]);
        let invitation;
        if (req.query.inv !== undefined) {
          const check = await checkInvitationLink(ctx, business.id, req.query.inv);
          if (!check.ok) return linkProblem(req, reply, business, check.reason, embed);
          invitation = check.invitation;
        }
        const lang = requestLanguage(req, invitation?.language ?? business.policy.defaultLanguage);
        const requested = req.query.topics
          ? req.query.topics
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : invitation?.topicKeys;
        const page = await pageContent(business, lang, requested);
        if (!page)
          return sendMessage(reply, 404, { lang, title: '', embed }, 'noTextTitle', ['noTextBody'], {
            business: business.displayName,
          });
        const settings = await getCaptureSettings(ctx.database.db, business.id);
        const prefill = invitation?.phone ? normalisePhone(invitation.phone) : null;
        const country =
          (prefill?.ok ? prefill.country : undefined) ??
          (isCountry(req.query.country) ? req.query.country : undefined) ??
          parseAcceptLanguage(req.headers['accept-language'])
            .map((a) => a.region)
            .find(isCountry) ??
          settings.defaultCountry ??
          'US';
        return renderForm(req, reply, business, lang, embed, page, {
          checked: [],
          phone: prefill?.ok ? prefill.e164 : '',
          country,
          errors: {},
          invite: req.query.inv ?? null,
          renderPath: pathWithoutToken(req.url),
        });
      },
    );

    // Per-IP limit before anything is parsed; per-number limit once the body is read (preHandler).
    const limitIp = app.rateLimit({ max: perIp, timeWindow: 10 * 60_000, keyGenerator: (req) => `optin-ip:${req.ip}` });
    // The plugin runs one app.rateLimit() handler per request, so the second limit is a createRateLimit() check.
    const phoneLimit = app.createRateLimit({
      max: perPhone,
      timeWindow: 3_600_000,
      keyGenerator: (req) => {
        const b = (req.body ?? {}) as Body;
        const p =
          typeof b.phone === 'string' ? normalisePhone(b.phone, isCountry(b.country) ? b.country : undefined) : null;
        // Unparseable numbers share the IP's bucket: they record nothing, and must not dodge the limit.
        return p?.ok
          ? `optin-phone:${(req.params as { businessSlug: string }).businessSlug}:${p.e164}`
          : `optin-bad:${req.ip}`;
      },
    });
    const limitPhone = async (req: FastifyRequest, reply: FastifyReply) => {
      const r = await phoneLimit(req);
      if (!r.isAllowed && r.isExceeded) {
        reply.header('retry-after', String(r.ttlInSeconds));
        throw Object.assign(new Error('too many submissions for this number'), { statusCode: 429 });
      }
    };

    app.post<{ Params: { businessSlug: string }; Querystring: Query; Body: Body }>(
      '/p/:businessSlug/opt-in',
      {
        config: { auth: 'none' },
        schema: { hide: true, params: Params, querystring: QuerySchema },
        onRequest: limitIp,
        preHandler: limitPhone,
      },
      async (req, reply) => {
        const embed = req.query.embed === '1';
        const business = await getBusinessBySlug(ctx.database.db, req.params.businessSlug);
        if (!business)
          return sendMessage(reply, 404, { lang: requestLanguage(req), title: '', embed }, 'notFoundTitle', [
            'notFoundBody',
          ]);
        const lang = requestLanguage(req, business.policy.defaultLanguage);
        const frame = { lang, title: '', embed };
        if (!isSameOriginPost(req, opts.publicUrl))
          return sendMessage(reply, 403, frame, 'forbiddenTitle', ['forbiddenBody']);
        const body = (req.body ?? {}) as Body;
        const phone = typeof body.phone === 'string' ? body.phone.slice(0, 40) : '';
        const country = isCountry(body.country) ? body.country : null;
        const checked = asList(body.topics).filter((x): x is string => typeof x === 'string');
        const now = ctx.clock.now();

        let invitation;
        if (typeof body.inv === 'string' && body.inv !== '') {
          const check = await checkInvitationLink(ctx, business.id, body.inv);
          if (!check.ok) return linkProblem(req, reply, business, check.reason, embed);
          invitation = check.invitation;
        }
        const claims = checkFormToken(ctx.keyring, req, body.formToken, { f: 'opt-in', b: business.id, now });
        if (!claims) {
          // An old or forged form: show a fresh one with the person's entries and say why; nothing recorded.
          const page = await pageContent(business, lang, undefined);
          if (!page)
            return sendMessage(reply, 404, frame, 'noTextTitle', ['noTextBody'], { business: business.displayName });
          return renderForm(req, reply, business, lang, embed, page, {
            checked,
            phone,
            country: country ?? 'US',
            errors: { form: true },
            invite: invitation ? (body.inv as string) : null,
            renderPath: pathWithoutToken(req.url),
            status: 400,
          });
        }
        let text: ConsentText;
        try {
          text = await getText(ctx, business.id, claims.t ?? '');
        } catch {
          return sendMessage(reply, 404, frame, 'noTextTitle', ['noTextBody'], { business: business.displayName });
        }
        if (!text.usable || !textShownOn(text, 'web'))
          return sendMessage(reply, 404, frame, 'noTextTitle', ['noTextBody'], { business: business.displayName });

        const outcome = await submitWebOptIn(ctx, business.id, {
          textHash: text.hash,
          textLanguage: text.language,
          offeredTopics: claims.k,
          checkedTopics: checked,
          phone,
          country,
          language: lang,
          evidence: {
            ip: req.ip,
            userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
            pageUrl: `${opts.publicUrl}${String(claims['u'] ?? '')}`,
            formId: claims.j,
          },
          ...(invitation
            ? {
                invitation: {
                  id: invitation.id,
                  tokenId: invitation.tokenId,
                  channel: invitation.channel,
                  phone: invitation.phone,
                  expiresAt: invitation.expiresAt,
                },
              }
            : {}),
        });
        const topicObjs = offerable(business, await listTopics(ctx.database.db, business.id));
        const names = (keys: string[]) =>
          keys
            .map((k) => {
              const t = topicObjs.find((x) => x.key === k);
              return t ? topicNameIn(t, lang) : k;
            })
            .join(', ');
        switch (outcome.kind) {
          case 'invalid': {
            const page = {
              text,
              topics: claims.k
                .map((k) => topicObjs.find((t) => t.key === k))
                .filter((t): t is Topic => t !== undefined),
            };
            return renderForm(req, reply, business, lang, embed, page, {
              checked,
              phone,
              country: country ?? 'US',
              errors: outcome.errors,
              invite: invitation ? (body.inv as string) : null,
              renderPath: String(claims['u'] ?? ''),
              status: 422,
            });
          }
          case 'recorded': {
            const pending = outcome.result.changed.some((c) => c.status === 'pending');
            return sendPage(
              reply,
              200,
              'done',
              { lang, title: strings(lang)('doneTitle'), embed },
              { business: business.displayName, topicNames: names(outcome.topics), pending },
            );
          }
          case 'ownership_check': {
            const t = strings(lang);
            const prefill = t('ownershipPrefill', { business: business.displayName, code: outcome.code });
            return sendPage(
              reply,
              200,
              'ownership',
              { lang, title: t('ownershipTitle'), embed },
              {
                phone: outcome.phone,
                waNumber: `+${outcome.whatsappNumber}`,
                prefill,
                waLink: `https://wa.me/${outcome.whatsappNumber}?text=${encodeURIComponent(prefill)}`,
              },
            );
          }
          case 'unavailable':
            return sendMessage(reply, 503, frame, 'unavailableTitle', ['unavailableBody'], {
              business: business.displayName,
            });
          case 'link_used':
            return linkProblem(req, reply, business, 'expired', embed);
        }
      },
    );
  };

  async function pageContent(
    business: Business,
    lang: PageLanguage,
    requested: string[] | undefined,
  ): Promise<{ text: ConsentText; topics: Topic[] } | null> {
    const live = offerable(business, await listTopics(ctx.database.db, business.id));
    const wanted = requested?.filter((k) => live.some((t) => t.key === k));
    if (requested && requested.length && (!wanted || wanted.length === 0)) return null;
    const text = await chooseOptInText(ctx.database.db, business.id, {
      language: lang,
      fallback: business.policy.defaultLanguage,
      channel: 'web',
      ...(wanted?.length ? { topics: wanted } : {}),
    });
    if (!text) return null;
    const keys = wanted?.length ? wanted : text.topicKeys;
    const topics = live.filter((t) => keys.includes(t.key) && text.topicKeys.includes(t.key));
    return topics.length ? { text, topics } : null;
  }

  function renderForm(
    req: FastifyRequest,
    reply: FastifyReply,
    business: Business,
    lang: PageLanguage,
    embed: boolean,
    page: { text: ConsentText; topics: Topic[] },
    state: {
      checked: string[];
      phone: string;
      country: string;
      errors: { topics?: string; phone?: string; form?: boolean };
      invite: string | null;
      renderPath: string;
      status?: number;
    },
  ): FastifyReply {
    const t = strings(lang);
    const now = ctx.clock.now();
    const formToken = issueFormToken(
      ctx.keyring,
      req,
      reply,
      { f: 'opt-in', b: business.id, t: page.text.hash, k: page.topics.map((x) => x.key), u: state.renderPath },
      { now, embed, secureCookie },
    );
    const example = exampleNumber(state.country);
    const fieldErrors: { topics?: string; phone?: string } = {};
    if (state.errors.topics) fieldErrors.topics = t('errNoTopic');
    if (state.errors.phone)
      fieldErrors.phone = state.errors.phone === 'missing' ? t('errPhoneMissing') : t('errPhoneInvalid', { example });
    const errors = [
      ...(state.errors.form ? [{ target: 'opt-in-form', message: t('errFormExpired') }] : []),
      ...(fieldErrors.topics ? [{ target: `topic-${page.topics[0]?.key ?? ''}`, message: fieldErrors.topics }] : []),
      ...(fieldErrors.phone ? [{ target: 'phone', message: fieldErrors.phone }] : []),
    ];
    const heading = t('optInTitle', { business: business.displayName });
    const query = new URLSearchParams({ lang, ...(embed ? { embed: '1' } : {}) });
    return sendPage(
      reply,
      state.status ?? 200,
      'opt-in',
      { lang, title: errors.length ? `${t('errorSummaryTitle')}: ${heading}` : heading, embed, switcher: req },
      {
        heading,
        business: business.displayName,
        text: page.text,
        errors,
        fieldErrors,
        formToken,
        embed,
        invite: state.invite,
        action: `/p/${business.slug}/opt-in?${query.toString()}`,
        topics: page.topics.map((x) => ({
          key: x.key,
          name: topicNameIn(x, lang),
          description: x.description,
          checked: state.checked.includes(x.key),
        })),
        countries: countryOptions(lang),
        country: state.country,
        phone: state.phone,
        example,
      },
    );
  }

  function linkProblem(
    req: FastifyRequest,
    reply: FastifyReply,
    business: Business,
    reason: 'tampered' | 'expired',
    embed: boolean,
  ) {
    const frame = { lang: requestLanguage(req, business.policy.defaultLanguage), title: '', embed };
    return reason === 'expired'
      ? sendMessage(reply, 410, frame, 'linkExpiredTitle', ['linkExpiredBody'], { business: business.displayName })
      : sendMessage(reply, 400, frame, 'linkInvalidTitle', ['linkInvalidBody']);
  }
}

/** The page address kept as evidence, without an invitation token (a bearer credential). */
function pathWithoutToken(url: string): string {
  const u = new URL(url, 'http://x');
  u.searchParams.delete('inv');
  return `${u.pathname}${u.search}`;
}
