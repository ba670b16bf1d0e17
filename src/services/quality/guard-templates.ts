import { templateGuardOf } from '../../domain/gate/expiry-policy.js';
import { pauseSummary, templatesToPause } from '../../domain/quality/template-guard.js';
import { parsePolicy } from '../../storage/business/business-store.js';
import { stopTemplate } from '../../storage/quality/template-health-store.js';
import { insertReviewItem } from '../../storage/whatsapp/review-store.js';
import { optOutRateReport } from '../reports/consent-reports.js';
import type { ServiceContext } from '../context.js';

export interface GuardResult {
  paused: { businessId: string; template: string; rate: number }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The quality guard: per business, the opt-out rate per template over the last `policy.templateGuard.windowHours`
 * (the report's rule, reused), and every template above the threshold paused for the business, with a review
 * item and a warning in the log (the console shows both). A template already paused is left as it is; staff
 * resume it (POST /v1/templates/{name}/resume). Sends with a paused template are refused (TEMPLATE_PAUSED).
 */
export async function guardTemplates(ctx: ServiceContext, opts: { businessId?: string } = {}): Promise<GuardResult> {
  const out: GuardResult = { paused: [] };
  let sel = ctx.database.db.selectFrom('businesses').select(['id', 'policy']).orderBy('id');
  if (opts.businessId) sel = sel.where('id', '=', opts.businessId);
  for (const b of await sel.execute()) {
    const guard = templateGuardOf(parsePolicy(b.policy));
    if (!guard) continue;
    const now = ctx.clock.now();
    const windowMs = Math.ceil(guard.windowHours * 3_600_000);
    const report = await optOutRateReport(ctx, b.id, {
      from: iso(now - windowMs),
      to: iso(now),
      withinHours: guard.windowHours,
      by: 'template',
    });
    for (const r of templatesToPause(report.rows, guard)) {
      const name = r.key!;
      const detail = {
        optOutRate: r.rate,
        optOuts: r.optOutsWithin,
        notifications: r.notifications,
        windowHours: guard.windowHours,
        threshold: guard.optOutRate,
      };
      const made = await ctx.database.transaction(async (trx) => {
        const stopped = await stopTemplate(
          trx,
          { businessId: b.id, name, status: 'paused', by: 'opt_out_guard', reason: 'opt_out_rate', detail },
          now,
        );
        if (stopped) {
          await insertReviewItem(
            trx,
            {
              businessId: b.id,
              personId: null,
              sourceRef: `template_paused:${name}:${now}`,
              reason: 'template_paused',
              detail: { template: name, summary: pauseSummary(r, guard), ...detail },
            },
            now,
          );
        }
        return stopped;
      });
      if (!made) continue;
      out.paused.push({ businessId: b.id, template: name, rate: r.rate });
      ctx.logger.warn({ businessId: b.id, template: name, ...detail }, `template paused: ${pauseSummary(r, guard)}`);
    }
  }
  return out;
}
