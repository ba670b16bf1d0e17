import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { parseJson } from '../json.js';

type Q = Kysely<DB>;

/** Who paused a template: Meta's own status webhook, or the opt-out guard (services/quality/guard-templates.ts). */
export type PausedBy = 'meta' | 'opt_out_guard';

export interface TemplateHealth {
  name: string;
  status: 'active' | 'paused' | 'disabled';
  pausedBy: PausedBy | null;
  reason: string | null;
  metaStatus: string | null;
  metaQuality: string | null;
  category: string | null;
  detail: Record<string, unknown>;
  pausedAt: number | null;
  resumedAt: number | null;
  updatedAt: number;
}

const toHealth = (r: DB['template_health']): TemplateHealth => ({
  name: r.name,
  status: r.status as TemplateHealth['status'],
  pausedBy: r.paused_by as PausedBy | null,
  reason: r.reason,
  metaStatus: r.meta_status,
  metaQuality: r.meta_quality,
  category: r.category,
  detail: parseJson(r.detail, {}),
  pausedAt: r.paused_at === null ? null : Number(r.paused_at),
  resumedAt: r.resumed_at === null ? null : Number(r.resumed_at),
  updatedAt: Number(r.updated_at),
});

/**
 * A paused template changes gate decisions, so every write that changes its status bumps the business's
 * config_version in the caller's transaction: every process's business cache (the one fact source of enqueue and
 * claim, storage/business/business-cache.ts) reloads its paused set before its next decision.
 */
const bumpConfig = (q: Q, businessId: string) =>
  q
    .updateTable('businesses')
    .set({ config_version: sql`config_version + 1` })
    .where('id', '=', businessId)
    .execute();

/** The names of the business's templates that may not be sent (paused or disabled). */
export async function blockedTemplateNames(q: Q, businessId: string): Promise<string[]> {
  const rows = await q
    .selectFrom('template_health')
    .select('name')
    .where('business_id', '=', businessId)
    .where('status', '!=', 'active')
    .execute();
  return rows.map((r) => r.name);
}

export async function getTemplateHealth(q: Q, businessId: string, name: string): Promise<TemplateHealth | null> {
  const r = await q
    .selectFrom('template_health')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('name', '=', name)
    .executeTakeFirst();
  return r ? toHealth(r) : null;
}

export async function listTemplateHealth(q: Q, businessId: string): Promise<TemplateHealth[]> {
  const rows = await q
    .selectFrom('template_health')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('name')
    .execute();
  return rows.map(toHealth);
}

/**
 * Stops a template for the business (status `paused` or `disabled`). Returns false when it was already stopped
 * (nothing written, no version bump): the guard and a redelivered webhook pause once.
 */
export async function stopTemplate(
  q: Q,
  t: {
    businessId: string;
    name: string;
    status: 'paused' | 'disabled';
    by: PausedBy;
    reason: string;
    detail: Record<string, unknown>;
  },
  now: number,
): Promise<boolean> {
  const cur = await getTemplateHealth(q, t.businessId, t.name);
  if (cur && cur.status === t.status) return false;
  const values = {
    status: t.status,
    paused_by: t.by,
    reason: t.reason,
    detail: JSON.stringify(t.detail),
    paused_at: now,
    updated_at: now,
  };
  await q
    .insertInto('template_health')
    .values({
      business_id: t.businessId,
      name: t.name,
      meta_status: null,
      meta_quality: null,
      category: null,
      resumed_at: null,
      ...values,
    })
    .onConflict((oc) => oc.columns(['business_id', 'name']).doUpdateSet(values))
    .execute();
  await bumpConfig(q, t.businessId);
  return true;
}

/** Lets the template be sent again. Returns the template as it was (null: unknown to Optline). */
export async function resumeTemplate(
  q: Q,
  businessId: string,
  name: string,
  now: number,
): Promise<TemplateHealth | null> {
  const cur = await getTemplateHealth(q, businessId, name);
  if (!cur || cur.status === 'active') return cur;
  await q
    .updateTable('template_health')
    .set({ status: 'active', resumed_at: now, updated_at: now })
    .where('business_id', '=', businessId)
    .where('name', '=', name)
    .execute();
  await bumpConfig(q, businessId);
  return cur;
}

/** What Meta last said of the template (status, quality score, category), kept beside Optline's own status. */
export async function noteMetaTemplate(
  q: Q,
  businessId: string,
  name: string,
  meta: { status?: string; quality?: string; category?: string },
  now: number,
): Promise<void> {
  const set = {
    ...(meta.status ? { meta_status: meta.status } : {}),
    ...(meta.quality ? { meta_quality: meta.quality } : {}),
    ...(meta.category ? { category: meta.category } : {}),
    updated_at: now,
  };
  await q
    .insertInto('template_health')
    .values({
      business_id: businessId,
      name,
      status: 'active',
      paused_by: null,
      reason: null,
      detail: '{}',
      paused_at: null,
      resumed_at: null,
      meta_status: meta.status ?? null,
      meta_quality: meta.quality ?? null,
      category: meta.category ?? null,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['business_id', 'name']).doUpdateSet(set))
    .execute();
}

/**
 * Staff's resume (services/quality/template-health.ts): lets the template be sent again only if its row is still
 * as `seen` (status, who paused it, Meta's status, last write), so a Meta pause that arrived after the check is
 * never lifted by it. Returns false when the row changed in between (nothing written).
 */
export async function resumeIfUnchanged(q: Q, businessId: string, seen: TemplateHealth, now: number): Promise<boolean> {
  const r = await q
    .updateTable('template_health')
    .set({ status: 'active', resumed_at: now, updated_at: now })
    .where('business_id', '=', businessId)
    .where('name', '=', seen.name)
    .where('status', '=', seen.status)
    .where('updated_at', '=', seen.updatedAt)
    .where((eb) => (seen.pausedBy === null ? eb('paused_by', 'is', null) : eb('paused_by', '=', seen.pausedBy)))
    .where((eb) => (seen.metaStatus === null ? eb('meta_status', 'is', null) : eb('meta_status', '=', seen.metaStatus)))
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  await bumpConfig(q, businessId);
  return true;
}
