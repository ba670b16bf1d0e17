import { fail } from '../../domain/errors.js';
import type { Category } from '../../domain/gate/policy.js';
import { newId } from '../../lib/ids.js';
import { isUniqueViolation } from '../../storage/db.js';
import { listTopics, toTopic, type Topic } from '../../storage/business/business-store.js';
import type { ServiceContext } from '../context.js';

export async function createTopic(
  ctx: ServiceContext,
  businessId: string,
  input: { key: string; name: string; description?: string; category: Category },
): Promise<Topic> {
  const now = ctx.clock.now();
  const row = {
    business_id: businessId, id: newId('top', now), key: input.key, name: input.name.trim(),
    description: input.description ?? null, category: input.category, created_at: now, archived_at: null,
  };
  try {
    await ctx.database.db.insertInto('topics').values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) fail('CONFLICT', `A topic with key "${input.key}" already exists.`, 'key');
    throw e;
  }
  // Seen by every process at once: the insert bumps businesses.config_version (trigger, migration 0005).
  return toTopic(row);
}

export { listTopics };

export async function getTopic(ctx: ServiceContext, businessId: string, idOrKey: string): Promise<Topic> {
  const r = await ctx.database.db
    .selectFrom('topics')
    .selectAll()
    .where('business_id', '=', businessId)
    .where((eb) => eb.or([eb('id', '=', idOrKey), eb('key', '=', idOrKey)]))
    .executeTakeFirst();
  if (!r) return fail('NOT_FOUND', `No topic "${idOrKey}".`, 'topic');
  return toTopic(r);
}

/** Archiving keeps history intact; an archived topic takes no new opt-ins and no sends. */
export async function archiveTopic(ctx: ServiceContext, businessId: string, idOrKey: string): Promise<Topic> {
  const t = await getTopic(ctx, businessId, idOrKey);
  if (t.archivedAt) return t;
  const now = ctx.clock.now();
  await ctx.database.db.updateTable('topics').set({ archived_at: now }).where('business_id', '=', businessId).where('id', '=', t.id).execute();
  return { ...t, archivedAt: now };
}
