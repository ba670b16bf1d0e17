import type { ServiceContext } from '../services/context.js';
import { expireConsents, type ExpiryResult } from '../services/consent/expire-consents.js';
import { guardTemplates, type GuardResult } from '../services/quality/guard-templates.js';

/**
 * The hourly checks of issue 14, called by worker/housekeeping.ts: consent expiry (pending double opt-ins, validity,
 * re-permission prompts) and the template opt-out guard. Both are idempotent and read time from ctx.clock, so
 * several servers may run them and tests drive them with a ManualClock.
 */
export async function runExpiryAndQuality(ctx: ServiceContext): Promise<{ expiry: ExpiryResult; guard: GuardResult }> {
  const expiry = await expireConsents(ctx);
  const guard = await guardTemplates(ctx);
  if (expiry.pendingExpired + expiry.lapsed + expiry.prompted + guard.paused.length > 0) {
    ctx.logger.info({ expiry, pausedTemplates: guard.paused }, 'consent expiry and template guard');
  }
  return { expiry, guard };
}
