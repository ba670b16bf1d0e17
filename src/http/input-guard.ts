import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldProblem } from '../domain/errors.js';
import { MAX_INPUT_DEPTH, MAX_INPUT_STRING, textProblem } from '../domain/text-input.js';

/** A node still to visit: its value, how deep it is, and how to name it (built only when it is refused). */
interface Node {
  v: unknown;
  depth: number;
  parent: Node | null;
  key: string | number | null;
}

function pathOf(n: Node, root: string): string {
  const parts: string[] = [];
  for (let x: Node | null = n; x && x.key !== null; x = x.parent)
    parts.push(typeof x.key === 'number' ? `[${x.key}]` : `.${x.key}`);
  const tail = parts.reverse().join('');
  const path = root ? `${root}${tail}` : tail.replace(/^\./, '');
  return path || 'body';
}

// Every problem textProblem can find starts with one of these characters: a string without any is fine, and one
// regex scan without look-around says so (the common case, on every string of every request).
const SUSPECT = /[\u0000\uD800-\uDFFF]/;

/**
 * The first string of a parsed input that cannot be stored (NUL, lone surrogate, longer than any field may
 * be), or a nesting deeper than MAX_INPUT_DEPTH; object keys are checked like values. Iterative, so a body
 * nested 20,000 levels costs a loop, not a stack overflow. Field paths are built only for the refused one.
 */
export function inputProblem(value: unknown, root: string): FieldProblem | null {
  const stack: Node[] = [{ v: value, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const n = stack.pop()!;
    const v = n.v;
    if (typeof v === 'string') {
      if (v.length > MAX_INPUT_STRING)
        return { field: pathOf(n, root), message: `is longer than ${MAX_INPUT_STRING} characters` };
      const p = SUSPECT.test(v) ? textProblem(v) : null;
      if (p) return { field: pathOf(n, root), message: p };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (n.depth >= MAX_INPUT_DEPTH)
      return { field: pathOf(n, root), message: `is nested more than ${MAX_INPUT_DEPTH} levels deep` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: n.depth + 1, parent: n, key: i });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      const p = k.length > MAX_INPUT_STRING ? 'is too long' : SUSPECT.test(k) ? textProblem(k) : null;
      if (p) return { field: pathOf(n, root), message: `has a key that ${p}` };
      stack.push({ v: (v as Record<string, unknown>)[k], depth: n.depth + 1, parent: n, key: k });
    }
  }
  return null;
}

/**
 * True when `v` holds nothing inputProblem would refuse: the same rules, checked without allocating anything
 * (every request passes here; only a refused one walks again with inputProblem to name the field). Recursion is
 * bounded by MAX_INPUT_DEPTH: deeper is refused before it is entered.
 */
function clean(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return v.length <= MAX_INPUT_STRING && !SUSPECT.test(v);
  if (v === null || typeof v !== 'object') return true;
  if (depth >= MAX_INPUT_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!clean(v[i], depth + 1)) return false;
    return true;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (k.length > MAX_INPUT_STRING || SUSPECT.test(k)) return false;
    if (!clean((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

function check(req: FastifyRequest): FieldProblem | null {
  if (clean(req.params, 0) && clean(req.query, 0) && clean(req.headers, 0) && clean(req.body, 0)) return null;
  return (
    inputProblem(req.params, 'params') ??
    inputProblem(req.query, 'querystring') ??
    inputProblem(req.headers, 'headers') ??
    inputProblem(req.body, '')
  );
}

// The WhatsApp webhook keeps such strings (cleaned, flagged) instead of refusing them: Meta retries a refusal for days.
const EXEMPT = new Set(['/webhooks/whatsapp']);

/**
 * The one home of the rule that every string of every request (path parameters, query string, headers, body)
 * can be stored, and that bodies are not nested absurdly deep: checked before the schema validates and before
 * anything is written, refused as 400 VALIDATION_FAILED naming the field. Added to each route as it is
 * registered (like the key check), ahead of the route's own preValidation hooks.
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (EXEMPT.has(route.url)) return;
    const own = route.preValidation
      ? Array.isArray(route.preValidation)
        ? route.preValidation
        : [route.preValidation]
      : [];
    route.preValidation = [guard, ...own] as typeof route.preValidation;
  });
}

function guard(req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const p = check(req);
  if (!p) return done();
  done(new AppError('VALIDATION_FAILED', `${p.field} ${p.message}.`, [p]));
}
