import type { FieldProblem } from '../errors.js';
import { checkExpiryPolicy, type ConsentExpiryPolicy, type TemplateGuardPolicy } from './expiry-policy.js';
import { preferenceLinkProblems, type PreferenceLinkPolicy } from '../consent/preference-link-policy.js';
import { holidayProblems } from './holidays-policy.js';

export const CATEGORIES = ['utility', 'authentication', 'marketing'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface FrequencyCap {
  /** A topic key, or '*' for all of a person's notifications from this business. */
  topic: string;
  max: number;
  windowHours: number;
}

export interface QuietHours {
  start: string; // "21:00", local time of the recipient
  end: string; // "08:00"
  /** Used when the recipient's own time zone cannot be told from their number. */
  defaultTimezone: string;
  /** Public holidays are quiet all (local) day: those of the recipient's country and/or of listed countries. */
  holidays?: QuietHolidays;
}

export interface QuietHolidays {
  /** The holidays of the country of the recipient's number. */
  recipientCountry?: boolean;
  /** ISO 3166-1 alpha-2 codes (`US`, `GB`), holidays that count for every recipient. */
  countries?: string[];
}

export interface BusinessPolicy {
  allowedCategories: Category[];
  frequencyCaps: FrequencyCap[];
  /** Least time between two notifications to the same person, in seconds (0 = off). */
  minSpacingSeconds: number;
  quietHours: QuietHours | null;
  /** Consent stays CONFIRMATION_PENDING until the person taps Confirm on WhatsApp. */
  doubleOptIn: boolean;
  defaultLanguage: string;
  /** Keyword settings for the chat (domain/chat/keywords.ts KeywordConfig). */
  keywords: Record<string, unknown>;
  /** The approved WhatsApp template used for confirmations outside the service window. */
  confirmationTemplate: { name: string; language: string } | null;
  /** Where the preference link goes (domain/consent/preference-link-policy.ts); absent: nowhere. */
  preferenceLink?: PreferenceLinkPolicy | null;
  /** Business wording of chat replies, per language and kind (opt_out, opt_in, help); `{business}` is filled in. */
  keywordReplies?: Record<string, Partial<Record<'opt_out' | 'opt_in' | 'help', string>>>;
  /** Pending double opt-in expiry, consent validity per topic, re-permission prompts (domain/gate/expiry-policy.ts). */
  consentExpiry?: ConsentExpiryPolicy;
  /** Pauses a template whose opt-out rate passes the threshold (null: off; absent: the defaults). */
  templateGuard?: TemplateGuardPolicy | null;
}

export const DEFAULT_POLICY: Readonly<BusinessPolicy> = Object.freeze({
  allowedCategories: ['utility', 'authentication'] as Category[],
  frequencyCaps: [{ topic: '*', max: 10, windowHours: 24 }],
  minSpacingSeconds: 0,
  quietHours: null,
  doubleOptIn: false,
  defaultLanguage: 'en',
  keywords: {},
  confirmationTemplate: null,
});

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Merges a partial policy onto a base and checks it; every problem is reported with its field. */
export function mergePolicy(
  base: BusinessPolicy,
  patch: Partial<BusinessPolicy> | undefined,
): { ok: true; policy: BusinessPolicy } | { ok: false; problems: FieldProblem[] } {
  const p: BusinessPolicy = { ...base, ...(patch ?? {}) };
  const problems: FieldProblem[] = [];
  if (!Array.isArray(p.allowedCategories) || p.allowedCategories.length === 0) {
    problems.push({ field: 'policy.allowedCategories', message: 'must list at least one category' });
  } else {
    p.allowedCategories.forEach((c, i) => {
      if (!CATEGORIES.includes(c)) {
        problems.push({ field: `policy.allowedCategories[${i}]`, message: `must be one of ${CATEGORIES.join(', ')}` });
      }
    });
  }
  p.frequencyCaps.forEach((c, i) => {
    if (!Number.isInteger(c.max) || c.max < 1)
      problems.push({ field: `policy.frequencyCaps[${i}].max`, message: 'must be a whole number of at least 1' });
    if (!(c.windowHours > 0 && c.windowHours <= 24 * 31))
      problems.push({
        field: `policy.frequencyCaps[${i}].windowHours`,
        message: 'must be more than 0 and at most 744 (31 days)',
      });
  });
  if (p.quietHours) {
    const q = p.quietHours;
    if (!HHMM.test(q.start)) problems.push({ field: 'policy.quietHours.start', message: 'must be a time like 21:00' });
    if (!HHMM.test(q.end)) problems.push({ field: 'policy.quietHours.end', message: 'must be a time like 08:00' });
    if (q.start === q.end) problems.push({ field: 'policy.quietHours.end', message: 'must differ from start' });
    if (!isValidTimezone(q.defaultTimezone))
      problems.push({
        field: 'policy.quietHours.defaultTimezone',
        message: 'must be an IANA time zone such as Europe/London',
      });
    if (q.holidays) problems.push(...holidayProblems(q.holidays));
  }
  checkExpiryPolicy(p, problems);
  problems.push(...preferenceLinkProblems(p.preferenceLink));
  return problems.length ? { ok: false, problems } : { ok: true, policy: p };
}
