import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

// Shipped in web/console (package.json "files"); the same relative path works from src/ (tsx) and dist/.
const CONSOLE_DIR = fileURLToPath(new URL('../../../web/console/', import.meta.url));

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'application/javascript; charset=utf-8',
  'audit.js': 'application/javascript; charset=utf-8',
  'templates.js': 'application/javascript; charset=utf-8',
  'imports.js': 'application/javascript; charset=utf-8',
} as const;
type ConsoleFile = keyof typeof FILES;

/**
 * Script only from this origin, no inline script or style, fetch only to this origin (the REST API), never framed.
 * Nothing here is cached: the page handles an API key.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Chart.js's browser build, served from the installed package (never a CDN).
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
let chartJs: string | undefined;

const cache = new Map<ConsoleFile, string>();
function consoleFile(name: ConsoleFile): string {
  let s = cache.get(name);
  if (s === undefined) {
    s = readFileSync(`${CONSOLE_DIR}${name}`, 'utf8');
    cache.set(name, s);
  }
  return s;
}

function send(reply: FastifyReply, name: ConsoleFile | 'chart.js'): FastifyReply {
  const body = name === 'chart.js' ? (chartJs ??= readFileSync(CHART_JS, 'utf8')) : consoleFile(name);
  return reply
    .type(name === 'chart.js' ? FILES['console.js'] : FILES[name])
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()')
    .send(body);
}

/**
 * The compliance/support console: a static page (HTML, CSS, one script) that calls the REST API with the
 * business key the staff member pastes (kept in sessionStorage only). The pages are public; the data is not.
 */
export function consoleRoutes() {
  return async (app: FastifyInstance): Promise<void> => {
    const opts = { config: { auth: 'none' as const }, schema: { hide: true } };
    app.get('/console', opts, async (_req, reply) => send(reply, 'index.html'));
    app.get('/console/', opts, async (_req, reply) => reply.redirect('/console'));
    app.get('/console/assets/console.css', opts, async (_req, reply) => send(reply, 'console.css'));
    app.get('/console/assets/console.js', opts, async (_req, reply) => send(reply, 'console.js'));
    app.get('/console/assets/audit.js', opts, async (_req, reply) => send(reply, 'audit.js'));
    app.get('/console/assets/templates.js', opts, async (_req, reply) => send(reply, 'templates.js'));
    app.get('/console/assets/imports.js', opts, async (_req, reply) => send(reply, 'imports.js'));
    app.get('/console/assets/chart.js', opts, async (_req, reply) => send(reply, 'chart.js'));
  };
}
