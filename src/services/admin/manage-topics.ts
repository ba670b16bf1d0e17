import { fail } from '../../domain/errors.js';
import type { Category } from '../../domain/gate/policy.js';
import { cleanTopicNames } from '../../domain/consent/topic-names.js';
import { newId } from '../../lib/ids.js';
import { isUniqueViolation } from '../../storage/db.js';
import { writeAudit } from '../../storage/audit/audit-store.js';
import { listTopics, toTopic, type Topic } from '../../storage/business/business-store.js';
import type { ServiceContext } from '../context.js';

export async function createTopic(
  ctx: ServiceContext,
  businessId: string,
  input: { key: string; name: string; description?: string; category: Category; names?: Record<string, string> },
  actor = 'system',
): Promise<Topic> {
  const now = ctx.clock.now();
  const names = cleanTopicNames(input.names);
  const row = {
    business_id: businessId,
    id: newId('top', now),
    key: input.key,
    name: input.name.trim(),
    description: input.description ?? null,
    category: input.category,
    created_at: now,
    archived_at: null,
    names: Object.keys(names).length ? JSON.stringify(names) : null,
  };
  try {
    await ctx.database.transaction(async (trx) => {
      await trx.insertInto('topics').values(row).execute();
      await writeAudit(trx, businessId, now, {
        actor,
        action: 'topic.create',
        target: input.key,
        detail: { category: input.category, names },
      });
    });
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

/**
 * Replaces a topic's names in other languages. Texts already registered keep the checks they passed: a text in
 * a language is checked against the names in that language when it is registered.
 */
export async function setTopicNames(
  ctx: ServiceContext,
  businessId: string,
  idOrKey: string,
  names: Record<string, string>,
  actor = 'system',
): Promise<Topic> {
  const t = await getTopic(ctx, businessId, idOrKey);
  const clean = cleanTopicNames(names);
  const now = ctx.clock.now();
  await ctx.database.transaction(async (trx) => {
    await trx
      .updateTable('topics')
      .set({ names: JSON.stringify(clean) })
      .where('business_id', '=', businessId)
      .where('id', '=', t.id)
      .execute();
    await writeAudit(trx, businessId, now, { actor, action: 'topic.names', target: t.key, detail: { names: clean } });
  });
  return { ...t, names: clean };
}

/** Archiving keeps history intact; an archived topic takes no new opt-ins and no sends. */
export async function archiveTopic(
  ctx: ServiceContext,
  businessId: string,
  idOrKey: string,
  actor = 'system',
): Promise<Topic> {
  const t = await getTopic(ctx, businessId, idOrKey);
  if (t.archivedAt) return t;
  const now = ctx.clock.now();
  await ctx.database.transaction(async (trx) => {
    await trx
      .updateTable('topics')
      .set({ archived_at: now })
      .where('business_id', '=', businessId)
      .where('id', '=', t.id)
      .execute();
    await writeAudit(trx, businessId, now, { actor, action: 'topic.archive', target: t.key });
  });
  return { ...t, archivedAt: now };
}
