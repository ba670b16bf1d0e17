import { sql } from 'kysely';
import type { Database } from '../db.js';

export interface TemplateSends {
  name: string;
  notifications: number;
  lastSentAt: number;
}

/**
 * The templates the business's notifications went out with since `since` (sent_at), how many and the latest.
 * The name is read from the outbox payload as the opt-out rate report reads it (storage/reports/report-store.ts).
 */
export async function sentTemplates(database: Database, businessId: string, since: number): Promise<TemplateSends[]> {
  const name =
    database.dialect === 'postgres'
      ? sql`(m.payload::jsonb -> 'template' ->> 'name')`
      : sql`json_extract(m.payload, '$.template.name')`;
  const r = await sql<{ name: string; n: number | string; last: number | string }>`
    select ${name} as name, count(*) as n, max(m.sent_at) as last from messages m
    where m.business_id = ${businessId} and m.kind = 'notification' and m.sent_at >= ${since} and ${name} is not null
    group by 1 order by 1`.execute(database.db);
  return r.rows.map((x) => ({ name: x.name, notifications: Number(x.n), lastSentAt: Number(x.last) }));
}
