import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, cachedPrincipal, type Principal } from '../services/admin/manage-keys.js';
import type { ServiceContext } from '../services/context.js';
import { allows, requiredPermission, type Permission } from '../domain/access/roles.js';
import { problem, sendProblem } from './error-handler.js';

export type AuthMode = 'none' | 'admin' | 'business' | 'any';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthMode;
    /** The permission a business key needs; default from domain/access/roles.ts (GET read, else write, exceptions). */
    permission?: Permission;
  }
}

function keyFrom(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h.toLowerCase().startsWith('bearer ')) return h.slice(7).trim();
  const x = req.headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : null;
}

/**
 * Every route states who may call it (`config.auth`); under /v1 the default is a business key. Admin (platform) keys
 * manage businesses; business keys see only their own business's data.
 *
 * The mode is decided once per route when it is registered, and only routes that need a key get the check (as a
 * route-level onRequest hook, run before the route's own ones): public pages, docs, webhooks and 404s pay
 * nothing per request. A key seen a moment ago is answered synchronously from the principal cache.
 */
export function registerAuth(app: FastifyInstance, ctx: ServiceContext): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    // Everything under /v1 needs a business key unless the route says otherwise; pages and docs are public.
    const mode: AuthMode = route.config?.auth ?? (route.url.startsWith('/v1/') ? 'business' : 'none');
    if (mode === 'none') return;
    const own = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : [];
    // Decided once per route: the one place a route's required permission is worked out.
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const needs = requiredPermission(
      methods.includes('GET') ? 'GET' : String(methods[0]),
      route.url,
      route.config?.permission,
    );
    route.onRequest = [authHook(ctx, mode, needs), ...own] as typeof route.onRequest;
  });
}

function authHook(ctx: ServiceContext, mode: Exclude<AuthMode, 'none'>, needs: Permission) {
  const admit = (req: FastifyRequest, reply: FastifyReply, principal: Principal | null): boolean => {
    if (!principal) {
      sendProblem(
        reply.header('www-authenticate', 'Bearer error="invalid_token"'),
        problem('UNAUTHENTICATED', 'The API key is unknown or revoked.', req.id),
      );
      return false;
    }
    if (mode === 'admin' && principal.kind !== 'admin') {
      sendProblem(reply, problem('FORBIDDEN', 'This endpoint needs a platform admin key (ola_…).', req.id));
      return false;
    }
    if (mode === 'business' && principal.kind !== 'business') {
      sendProblem(
        reply,
        problem(
          'FORBIDDEN',
          'This endpoint needs a business API key (olk_…); admin keys manage businesses only.',
          req.id,
        ),
      );
      return false;
    }
    if (principal.kind === 'business' && !allows(principal.role, needs)) {
      sendProblem(
        reply,
        problem(
          'FORBIDDEN',
          `This key's role (${principal.role}) does not allow this: it needs the ${needs} permission.`,
          req.id,
        ),
      );
      return false;
    }
    req.principal = principal;
    return true;
  };
  // Callback style: a hook that answers sends the reply and does not call done().
  return (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const key = keyFrom(req);
    if (!key) {
      sendProblem(
        reply.header('www-authenticate', 'Bearer'),
        problem('UNAUTHENTICATED', 'Send your API key as "Authorization: Bearer <key>".', req.id),
      );
      return;
    }
    const cached = cachedPrincipal(ctx, key);
    if (cached !== undefined) {
      if (admit(req, reply, cached)) done();
      return;
    }
    authenticate(ctx, key).then((p) => {
      if (admit(req, reply, p)) done();
    }, done);
  };
}

/** The caller's business. Only reachable on routes whose auth mode guarantees a business key. */
export function businessOf(req: FastifyRequest): string {
  const p = req.principal;
  if (!p || p.kind !== 'business') throw new Error('route without business auth asked for a business');
  return p.businessId;
}

export function actorOf(req: FastifyRequest): string {
  return req.principal ? `key:${req.principal.keyId}` : 'anonymous';
}
