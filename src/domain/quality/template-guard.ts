import type { TemplateGuardPolicy } from '../gate/expiry-policy.js';

/** One row of the opt-out rate report by template (services/reports/consent-reports.ts optOutRateReport). */
export interface TemplateRate {
  key: string | null;
  notifications: number;
  optOutsWithin: number;
  rate: number;
}

/**
 * The templates the guard pauses: those that went to at least `minRecipients` notifications in the window and
 * whose opt-out rate (the report's attribution: each opt-out to the last notification before it) is above the
 * threshold. Pure; the rate itself is computed once, by the report.
 */
export function templatesToPause(rows: readonly TemplateRate[], guard: TemplateGuardPolicy): TemplateRate[] {
  return rows.filter((r) => r.key !== null && r.notifications >= guard.minRecipients && r.rate > guard.optOutRate);
}

export const pauseSummary = (r: TemplateRate, guard: TemplateGuardPolicy): string =>
  `${r.optOutsWithin} opt-outs after ${r.notifications} notifications (${(r.rate * 100).toFixed(1)} %) within ` +
  `${guard.windowHours} h, above the ${(guard.optOutRate * 100).toFixed(1)} % threshold`;
