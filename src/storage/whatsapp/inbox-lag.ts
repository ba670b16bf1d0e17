import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/**
 * When the oldest webhook item not processed yet was received (null when none is waiting): the inbox's lag, for
 * /readyz. One read of the first entry of the inbox_pending index (processed_at, received_at).
 */
export async function oldestPendingInboxAt(db: Kysely<DB>): Promise<number | null> {
  const r = await db
    .selectFrom('inbox')
    .select('received_at')
    .where('processed_at', 'is', null)
    .orderBy('received_at')
    .limit(1)
    .executeTakeFirst();
  return r ? Number(r.received_at) : null;
}
