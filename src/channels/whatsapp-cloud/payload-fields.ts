// Tolerant readers for fields of Meta webhook JSON. They never throw: a bad field reads as undefined and
// the parser decides whether the element is still usable.
import { createHash } from 'node:crypto';
import type { WebhookError } from './payload-types.js';

export type Rec = Record<string, unknown>;

export function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function rec(v: unknown): Rec | undefined {
  return isRecord(v) ? v : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A non-empty short field (an id, a type, a status), bounded like an id. */
export function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? boundedId(v) : undefined;
}

/** Meta's ids are short (a wamid is under 100 characters); a longer one is kept recognisable, not stored whole. */
export const MAX_ID_LENGTH = 200;

/**
 * An id bounded for storage and indexes: one longer than MAX_ID_LENGTH keeps its start and gets a hash of the
 * whole, so two different overlong ids stay different and a redelivery of the same one maps to the same key.
 */
export function boundedId(s: string): string {
  if (s.length <= MAX_ID_LENGTH) return s;
  return `${s.slice(0, MAX_ID_LENGTH - 17)}~${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;
}

/** Ids Meta sends as digit strings (wa_id, from, phone_number_id). A bare JSON number is accepted too. */
export function idString(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? boundedId(v) : undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  return undefined;
}

/**
 * Meta sends Unix seconds: as a string in messages/statuses, as an integer in user_preferences.
 * Values ≥ 1e11 are taken to be milliseconds already (as seconds they would be past the year 5000).
 */
export function toEpochMs(v: unknown): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v)) n = Number(v);
  else return undefined;
  if (!Number.isFinite(n) || n < 0) return undefined;
  return n >= 1e11 ? Math.round(n) : Math.round(n * 1000);
}

export function parseErrors(v: unknown): WebhookError[] {
  if (!Array.isArray(v)) return [];
  const out: WebhookError[] = [];
  for (const e of v) {
    if (!isRecord(e)) continue;
    const raw = typeof e.code === 'string' ? Number(e.code) : e.code;
    out.push(
      compact({
        // -1 marks "Meta gave no usable code"; 0 would read as an auth error.
        code: typeof raw === 'number' && Number.isFinite(raw) ? raw : -1,
        title: str(e.title),
        message: str(e.message),
        details: str(rec(e.error_data)?.details),
      }),
    );
  }
  return out;
}

export function sha256Json(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? 'undefined';
  } catch {
    s = String(v);
  }
  return createHash('sha256').update(s).digest('hex');
}

/** Drops undefined-valued keys so items compare and serialise cleanly. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
