import type { Kysely } from 'kysely';
import { newId } from '../../lib/ids.js';
import { parseJson } from '../json.js';
import type { DB } from '../schema.js';

type Q = Kysely<DB>;

export interface AuditEntry {
  id: string;
  at: number;
  /** `key:<id>` for an API key (the console uses one), `admin:<id>` for a platform key. */
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

export interface AuditInput {
  actor: string;
  action: string;
  target?: string | null;
  detail?: Record<string, unknown>;
}

/**
 * Appends one row. Callers pass the transaction of the action itself, so an action and its audit row commit
 * together or not at all.
 */
export async function writeAudit(q: Q, businessId: string, at: number, entry: AuditInput): Promise<string> {
  const id = newId('aud', at);
  await q
    .insertInto('audit_log')
    .values({
      business_id: businessId,
      id,
      at,
      actor: entry.actor,
      action: entry.action,
      target: entry.target ?? null,
      detail: JSON.stringify(entry.detail ?? {}),
    })
    .execute();
  return id;
}

/** Newest first; `before` is the last id of the previous page (ids are time-ordered). */
export async function listAudit(
  q: Q,
  businessId: string,
  opts: { before?: string; limit: number; action?: string },
): Promise<AuditEntry[]> {
  let query = q.selectFrom('audit_log').selectAll().where('business_id', '=', businessId);
  if (opts.before) query = query.where('id', '<', opts.before);
  if (opts.action) query = query.where('action', '=', opts.action);
  const rows = await query.orderBy('id', 'desc').limit(opts.limit).execute();
  return rows.map((r) => ({
    id: r.id,
    at: Number(r.at),
    actor: r.actor,
    action: r.action,
    target: r.target,
    detail: parseJson<Record<string, unknown>>(r.detail, {}),
  }));
}
