import type { FieldProblem } from '../errors.js';

/**
 * The business's settings for consent that expires and for the template guard (issue 14), checked here and
 * merged into the policy by domain/gate/policy.ts. All optional: a policy written before has the defaults.
 */
export interface ConsentExpiryPolicy {
  /** A double opt-in not confirmed within this many days expires (an `expired` event). 0: never. Default 30. */
  pendingDays?: number;
  /**
   * Consent validity in days per topic key ('*': every topic without its own). Absent or empty: consent never lapses.
   */
  validityDays?: Record<string, number>;
  /** Days before a consent lapses when the person is asked to renew it (0: no prompt). */
  repermissionLeadDays?: number;
  /** The approved template used for the prompt when the person's 24 h window is closed. */
  repermissionTemplate?: { name: string; language: string } | null;
}

/** Opt-outs attributed to a template (the report's rule) that pause it for the business. */
export interface TemplateGuardPolicy {
  /** Share of the template's notifications followed by an opt-out within the window, 0 < rate <= 1 (0.02 = 2 %). */
  optOutRate: number;
  /** The guard judges a template only once it went to at least this many notifications in the window. */
  minRecipients: number;
  windowHours: number;
}

export const DEFAULT_PENDING_DAYS = 30;
export const DEFAULT_TEMPLATE_GUARD: Readonly<TemplateGuardPolicy> = Object.freeze({
  optOutRate: 0.02,
  minRecipients: 100,
  windowHours: 24,
});

const DAYS_MAX = 3650;
const wholeDays = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= DAYS_MAX;
const TEMPLATE_NAME = /^[a-z0-9_]{1,512}$/;

export const pendingDaysOf = (p: { consentExpiry?: ConsentExpiryPolicy }): number =>
  p.consentExpiry?.pendingDays ?? DEFAULT_PENDING_DAYS;

/** The validity of a topic's consent in days, or null when it never lapses. */
export function validityDaysOf(p: { consentExpiry?: ConsentExpiryPolicy }, topicKey: string): number | null {
  const v = p.consentExpiry?.validityDays;
  return v?.[topicKey] ?? v?.['*'] ?? null;
}

export const templateGuardOf = (p: { templateGuard?: TemplateGuardPolicy | null }): TemplateGuardPolicy | null =>
  p.templateGuard === null ? null : { ...DEFAULT_TEMPLATE_GUARD, ...(p.templateGuard ?? {}) };

/** Every problem of the two settings, each naming its field. */
export function checkExpiryPolicy(
  p: { consentExpiry?: ConsentExpiryPolicy; templateGuard?: TemplateGuardPolicy | null },
  problems: FieldProblem[],
): void {
  const e = p.consentExpiry;
  if (e !== undefined) {
    const f = 'policy.consentExpiry';
    if (e.pendingDays !== undefined && !wholeDays(e.pendingDays, 0))
      problems.push({
        field: `${f}.pendingDays`,
        message: `must be a whole number of days from 0 (never) to ${DAYS_MAX}`,
      });
    for (const [topic, days] of Object.entries(e.validityDays ?? {})) {
      if (!wholeDays(days, 1))
        problems.push({
          field: `${f}.validityDays.${topic}`,
          message: `must be a whole number of days from 1 to ${DAYS_MAX}`,
        });
    }
    const lead = e.repermissionLeadDays;
    if (lead !== undefined && !wholeDays(lead, 0))
      problems.push({
        field: `${f}.repermissionLeadDays`,
        message: `must be a whole number of days from 0 to ${DAYS_MAX}`,
      });
    const shortest = Math.min(...Object.values(e.validityDays ?? {}).filter((d) => Number.isInteger(d)));
    if (Number.isInteger(lead) && lead! > 0 && lead! >= shortest) {
      problems.push({
        field: `${f}.repermissionLeadDays`,
        message: `must be less than the shortest validity (${shortest} days)`,
      });
    }
    const t = e.repermissionTemplate;
    if (t && (!TEMPLATE_NAME.test(String(t.name)) || typeof t.language !== 'string' || !t.language)) {
      problems.push({
        field: `${f}.repermissionTemplate`,
        message: 'must name an approved template (lower-case letters, digits, _) and its language',
      });
    }
  }
  const g = p.templateGuard;
  if (g) {
    const f = 'policy.templateGuard';
    if (g.optOutRate !== undefined && !(g.optOutRate > 0 && g.optOutRate <= 1))
      problems.push({ field: `${f}.optOutRate`, message: 'must be more than 0 and at most 1 (0.02 is 2 %)' });
    if (g.minRecipients !== undefined && !(Number.isInteger(g.minRecipients) && g.minRecipients >= 1))
      problems.push({ field: `${f}.minRecipients`, message: 'must be a whole number of at least 1' });
    if (g.windowHours !== undefined && !(g.windowHours > 0 && g.windowHours <= 24 * 31))
      problems.push({ field: `${f}.windowHours`, message: 'must be more than 0 and at most 744 (31 days)' });
  }
}
