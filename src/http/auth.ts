import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type Principal } from '../services/manage-keys.js';
import type { ServiceContext } from '../services/context.js';
import { problem, sendProblem } from './error-handler.js';

export type AuthMode = 'none' | 'admin' | 'business' | 'any';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthMode;
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
 */
export function registerAuth(app: FastifyInstance, ctx: ServiceContext): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // Everything under /v1 needs a business key unless the route says otherwise; pages and docs are public.
    const mode: AuthMode = req.routeOptions.config?.auth ?? (req.routeOptions.url?.startsWith('/v1/') ? 'business' : 'none');
    if (mode === 'none') return;
    const key = keyFrom(req);
    if (!key) {
      return sendProblem(reply.header('www-authenticate', 'Bearer'), problem('UNAUTHENTICATED', 'Send your API key as "Authorization: Bearer <key>".', req.id));
    }
    const principal = await authenticate(ctx, key);
    if (!principal) {
      return sendProblem(reply.header('www-authenticate', 'Bearer error="invalid_token"'), problem('UNAUTHENTICATED', 'The API key is unknown or revoked.', req.id));
    }
    if (mode === 'admin' && principal.kind !== 'admin') {
      return sendProblem(reply, problem('FORBIDDEN', 'This endpoint needs a platform admin key (ola_…).', req.id));
    }
    if (mode === 'business' && principal.kind !== 'business') {
      return sendProblem(reply, problem('FORBIDDEN', 'This endpoint needs a business API key (olk_…); admin keys manage businesses only.', req.id));
    }
    req.principal = principal;
  });
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
