import { fail } from '../../domain/errors.js';
import { isResumable, resumeRefusal } from '../../domain/quality/template-pause.js';
import { writeAudit } from '../../storage/audit/audit-store.js';
import { latestNumberQualities } from '../../storage/quality/quality-events-store.js';
import {
  getTemplateHealth,
  listTemplateHealth,
  resumeIfUnchanged,
  type TemplateHealth,
} from '../../storage/quality/template-health-store.js';
import { sentTemplates } from '../../storage/quality/template-sends.js';
import type { ServiceContext } from '../context.js';

/** How far back "templates the business sent" looks (the guard's window is a day; staff look at a month). */
export const SENT_WINDOW_MS = 30 * 86_400_000;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** One template as GET /v1/templates/health shows it: Optline's status, Meta's, and what went out with it. */
export function templateView(
  h: TemplateHealth | null,
  name: string,
  sent?: { notifications: number; lastSentAt: number },
) {
  const guard = h?.pausedBy === 'opt_out_guard' && h.status !== 'active' ? h.detail : null;
  return {
    name,
    status: h?.status ?? 'active',
    pausedBy: h?.status === 'active' ? null : (h?.pausedBy ?? null),
    reason: h?.status === 'active' ? null : (h?.reason ?? null),
    guard: guard
      ? {
          optOutRate: num(guard.optOutRate) ?? 0,
          optOuts: num(guard.optOuts) ?? 0,
          notifications: num(guard.notifications) ?? 0,
          windowHours: num(guard.windowHours) ?? 0,
          threshold: num(guard.threshold) ?? 0,
        }
      : null,
    resumable: h ? isResumable(h) : false,
    metaStatus: h?.metaStatus ?? null,
    metaQuality: h?.metaQuality ?? null,
    category: h?.category ?? null,
    pausedAt: h?.status === 'active' ? null : (h?.pausedAt ?? null),
    resumedAt: h?.resumedAt ?? null,
    sentLast30Days: sent?.notifications ?? 0,
    lastSentAt: sent?.lastSentAt ?? null,
  };
}

/**
 * Every template the business sent in the last 30 days or Meta reported (template_health), with its status, and
 * the latest quality update of each of its numbers. Read-only.
 */
export async function templateHealth(ctx: ServiceContext, businessId: string) {
  const q = ctx.database.db;
  const [known, sent, numbers] = await Promise.all([
    listTemplateHealth(q, businessId),
    sentTemplates(ctx.database, businessId, ctx.clock.now() - SENT_WINDOW_MS),
    latestNumberQualities(q, businessId),
  ]);
  const byName = new Map(known.map((h) => [h.name, h]));
  const sentBy = new Map(sent.map((s) => [s.name, s]));
  const names = [...new Set([...byName.keys(), ...sentBy.keys()])].sort();
  return {
    templates: names.map((n) => templateView(byName.get(n) ?? null, n, sentBy.get(n))),
    numbers: numbers.map((e) => ({
      phone: e.subject,
      event: e.event,
      currentLimit: typeof e.detail.currentLimit === 'string' ? e.detail.currentLimit : null,
      receivedAt: e.receivedAt,
    })),
  };
}

/**
 * Staff resume a template the opt-out guard paused (sends allowed again at enqueue and claim: the write bumps the
 * business's config version). A pause by Meta is refused (CONFLICT): only Meta lifts it. Resuming a template that
 * is not stopped changes nothing. The resume and its audit row commit together.
 */
export async function resumeTemplateByStaff(ctx: ServiceContext, businessId: string, name: string, actor: string) {
  return ctx.database.transaction(async (trx) => {
    const now = ctx.clock.now();
    const cur = await getTemplateHealth(trx, businessId, name);
    if (!cur)
      return fail('NOT_FOUND', 'No template of this name was paused or reported by Meta for this business.', 'name');
    if (cur.status === 'active') return { template: templateView(cur, name), resumed: false };
    const refusal = resumeRefusal(cur);
    if (refusal) return fail('CONFLICT', refusal, 'name', { pausedBy: cur.pausedBy, metaStatus: cur.metaStatus });
    if (!(await resumeIfUnchanged(trx, businessId, cur, now))) {
      return fail(
        'CONFLICT',
        'The template changed while it was being resumed (a new status from Meta or the guard); look again.',
        'name',
      );
    }
    await writeAudit(trx, businessId, now, {
      actor,
      action: 'template.resume',
      target: name,
      detail: { pausedBy: cur.pausedBy, reason: cur.reason, pausedAt: cur.pausedAt },
    });
    const after = await getTemplateHealth(trx, businessId, name);
    return { template: templateView(after, name), resumed: true };
  });
}
