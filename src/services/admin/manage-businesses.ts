import { AppError, fail } from '../../domain/errors.js';
import { DEFAULT_POLICY, mergePolicy, type BusinessPolicy } from '../../domain/gate/policy.js';
import { validateKeywordConfig } from '../../domain/chat/keywords.js';
import { newId } from '../../lib/ids.js';
import { isUniqueViolation } from '../../storage/db.js';
import { getBusiness, toBusiness, type Business } from '../../storage/business/business-store.js';
import { writeAudit } from '../../storage/audit/audit-store.js';
import type { ServiceContext } from '../context.js';
import { checkOptInKeywordTexts } from './check-opt-in-keywords.js';
import type { KeywordConfig } from '../../domain/chat/keywords.js';

function checkedPolicy(base: BusinessPolicy, patch: Partial<BusinessPolicy> | undefined): BusinessPolicy {
  const merged = mergePolicy(base, patch);
  if (!merged.ok) throw new AppError('INVALID_POLICY', 'The business policy is not valid.', merged.problems);
  if (patch?.keywords !== undefined) {
    const kw = validateKeywordConfig(patch.keywords);
    if (!kw.ok) {
      throw new AppError(
        'INVALID_POLICY',
        'The keyword settings are not valid.',
        kw.errors.map((e) => ({ field: `policy.keywords.${e.field}`, message: e.message })),
      );
    }
  }
  return merged.policy;
}

export async function createBusiness(
  ctx: ServiceContext,
  input: { slug: string; displayName: string; policy?: Partial<BusinessPolicy> },
): Promise<Business> {
  const policy = checkedPolicy(DEFAULT_POLICY, input.policy);
  await checkOptInKeywordTexts(ctx.database.db, null, input.policy?.keywords as KeywordConfig | undefined);
  const now = ctx.clock.now();
  const row = {
    id: newId('biz', now),
    slug: input.slug,
    display_name: input.displayName.trim(),
    policy: JSON.stringify(policy),
    created_at: now,
    updated_at: now,
    config_version: 0,
  };
  try {
    await ctx.database.db.insertInto('businesses').values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) fail('CONFLICT', `A business with slug "${input.slug}" already exists.`, 'slug');
    throw e;
  }
  return toBusiness(row);
}

export async function updateBusiness(
  ctx: ServiceContext,
  businessId: string,
  input: { displayName?: string; policy?: Partial<BusinessPolicy> },
  actor?: string,
): Promise<Business> {
  return ctx.database.transaction(async (trx) => {
    const current = await getBusiness(trx, businessId);
    if (!current) return fail('NOT_FOUND', 'No such business.', 'businessId');
    const policy = checkedPolicy(current.policy, input.policy);
    if (input.policy?.keywords !== undefined)
      await checkOptInKeywordTexts(trx, businessId, policy.keywords as KeywordConfig);
    const now = ctx.clock.now();
    await trx
      .updateTable('businesses')
      .set({
        display_name: input.displayName?.trim() ?? current.displayName,
        policy: JSON.stringify(policy),
        updated_at: now,
      })
      .where('id', '=', businessId)
      .execute();
    if (actor) {
      const detail = { displayName: input.displayName ?? null, policyKeys: Object.keys(input.policy ?? {}) };
      await writeAudit(trx, businessId, now, { actor, action: 'business.update', target: businessId, detail });
    }
    // No cache to invalidate: the policy write bumps businesses.config_version in this transaction (migration
    // 0005's trigger), and every cache compares that version before it answers.
    return { ...current, displayName: input.displayName?.trim() ?? current.displayName, policy, updatedAt: now };
  });
}

export async function listBusinesses(
  ctx: ServiceContext,
  opts: { after?: string; limit: number },
): Promise<Business[]> {
  let q = ctx.database.db.selectFrom('businesses').selectAll().orderBy('id').limit(opts.limit);
  if (opts.after) q = q.where('id', '>', opts.after);
  return (await q.execute()).map(toBusiness);
}
