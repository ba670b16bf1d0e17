import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import { AppError } from '../domain/errors.js';
import { HTTP_STATUS } from '../http/error-handler.js';
import { PAGE_LANGUAGES, pickLanguage, strings, type PageLanguage, type PageStrings } from './i18n.js';
import { renderTemplate } from '../lib/templates.js';
import { setPageHeaders } from './security.js';
import { databaseRateLimitStore } from '../http/rate-limit-store.js';
import type { ServiceContext } from '../services/context.js';

export type T = ReturnType<typeof strings>;

export interface PageFrame {
  lang: PageLanguage;
  title: string;
  embed?: boolean;
  /** Show the language switcher (links keep the current query). */
  switcher?: FastifyRequest;
}

function languageLinks(req: FastifyRequest, current: PageLanguage) {
  const url = new URL(req.url, 'http://x');
  return PAGE_LANGUAGES.map((code) => {
    url.searchParams.set('lang', code);
    return {
      code,
      name: strings(code)('languageName'),
      current: code === current,
      href: `${url.pathname}${url.search}`,
    };
  });
}

/** Renders a template inside the layout with the page headers; `data` reaches the template as `it`. */
export function sendPage(
  reply: FastifyReply,
  status: number,
  template: string,
  frame: PageFrame,
  data: object = {},
): FastifyReply {
  const t = strings(frame.lang);
  setPageHeaders(reply, { embed: frame.embed ?? false });
  const html = renderTemplate(template, {
    ...data,
    t,
    lang: frame.lang,
    title: frame.title,
    embed: frame.embed ?? false,
    languages: frame.switcher ? languageLinks(frame.switcher, frame.lang) : [],
  });
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** A page that only says something: not found, expired link, done. */
export function sendMessage(
  reply: FastifyReply,
  status: number,
  frame: PageFrame,
  heading: keyof PageStrings,
  paragraphs: (keyof PageStrings)[],
  vars: Record<string, string> = {},
  tone: 'info' | 'error' | 'success' = status >= 400 ? 'error' : 'info',
): FastifyReply {
  const t = strings(frame.lang);
  const title = t(heading, vars);
  return sendPage(
    reply,
    status,
    'message',
    { ...frame, title },
    { heading: title, paragraphs: paragraphs.map((p) => t(p, vars)), tone },
  );
}

export function requestLanguage(req: FastifyRequest, fallback = 'en'): PageLanguage {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  return pickLanguage(typeof q === 'string' ? q : undefined, req.headers['accept-language'], fallback);
}

/**
 * Sets up a scope that serves HTML: form and cookie parsing, rate limiting, and an error handler that answers every
 * failure
 * with a page in the visitor's language, never a stack trace or a JSON problem.
 */
export async function preparePageScope(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  // Limits are declared per route (app.rateLimit(...)); counted in the database, so once for all API processes.
  await app.register(rateLimit, { global: false, store: databaseRateLimitStore(ctx) });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const lang = requestLanguage(req);
    const embed = (req.query as Record<string, unknown> | undefined)?.embed === '1';
    const frame = { lang, title: '', embed };
    if (err.statusCode === 429) return sendMessage(reply, 429, frame, 'rateLimitedTitle', ['rateLimitedBody']);
    // A refusal from the ledger (an erased number, a text withdrawn meanwhile): said plainly, with no internals.
    if (err instanceof AppError && HTTP_STATUS[err.code] < 500) {
      return sendMessage(reply, HTTP_STATUS[err.code], frame, 'refusedTitle', ['refusedBody']);
    }
    if (err.validation || (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)) {
      return sendMessage(
        reply,
        err.statusCode && err.statusCode !== 422 ? err.statusCode : 400,
        frame,
        'linkInvalidTitle',
        ['linkInvalidBody'],
      );
    }
    req.log.error({ err }, 'page error');
    return sendMessage(reply, 500, frame, 'errorTitle', ['errorBody']);
  });
}
