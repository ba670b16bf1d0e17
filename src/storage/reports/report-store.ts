import { sql, type RawBuilder } from 'kysely';
import type { Database } from '../db.js';
import { SLOT_MS } from '../../domain/reports/buckets.js';

/**
 * The reports' reads: counts grouped per 15-minute UTC slot (the service puts slots into zone buckets), so the
 * database does the counting and only a few thousand rows come back for a month. Ledger reads use the index
 * (business_id, occurred_at, type, channel, action) of migration 0009.
 */
export type EventGroup = 'channel' | 'topic' | 'action' | 'language' | null;
export const REPORTED_TYPES = ['opt_in', 'opt_out', 'confirmation_sent', 'confirmation_failed', 'expired'] as const;

export async function countEventsBySlot(
  database: Database,
  businessId: string,
  from: number,
  to: number,
  groupBy: EventGroup,
): Promise<{ slot: number; type: string; key: string | null; n: number }[]> {
  const slot = sql`(e.occurred_at / ${sql.lit(SLOT_MS)})`;
  let key: RawBuilder<unknown> = sql`null`;
  let join: RawBuilder<unknown> = sql``;
  if (groupBy === 'channel') key = sql`e.channel`;
  if (groupBy === 'action') key = sql`e.action`;
  if (groupBy === 'language') {
    key = sql`t.language`;
    join = sql`left join consent_texts t on t.business_id = e.business_id and t.hash = e.text_hash`;
  }
  if (groupBy === 'topic') {
    // One row per topic the event names; an event naming none (scope all or marketing) counts under null.
    if (database.dialect === 'postgres') {
      key = sql`j.value`;
      join = sql`left join lateral jsonb_array_elements_text(e.topic_keys::jsonb) as j(value) on true`;
    } else {
      key = sql`j.value`;
      join = sql`left join json_each(e.topic_keys) j`;
    }
  }
  const r = await sql<{ slot: number | string; type: string; key: string | null; n: number | string }>`
    select ${slot} as slot, e.type as type, ${key} as key, count(*) as n
    from consent_events e ${join}
    where e.business_id = ${businessId} and e.occurred_at >= ${from} and e.occurred_at < ${to}
      and e.type in (${sql.join(REPORTED_TYPES.map((x) => sql`${x}`))})
    group by 1, 2, 3`.execute(database.db);
  return r.rows.map((x) => ({
    slot: Number(x.slot) * SLOT_MS,
    type: x.type,
    key: x.key === null ? null : String(x.key),
    n: Number(x.n),
  }));
}

/** Messages the gate refused at claim time, by reason code, per slot of when they were refused. */
export async function countRefusalsBySlot(database: Database, businessId: string, from: number, to: number) {
  const r = await sql<{ slot: number | string; reason: string | null; n: number | string }>`
    select (updated_at / ${sql.lit(SLOT_MS)}) as slot, error_code as reason, count(*) as n
    from messages
    where business_id = ${businessId} and status = 'refused' and updated_at >= ${from} and updated_at < ${to}
    group by 1, 2`.execute(database.db);
  return r.rows.map((x) => ({ slot: Number(x.slot) * SLOT_MS, reason: x.reason ?? 'UNKNOWN', n: Number(x.n) }));
}

/**
 * Notifications sent in [from, to) per topic or template, and how many of them were the last notification a
 * person got before an opt-out of theirs within `windowMs` (each opt-out is attributed to one notification).
 */
export async function optOutRates(
  database: Database,
  businessId: string,
  from: number,
  to: number,
  windowMs: number,
  by: 'topic' | 'template',
) {
  const pg = database.dialect === 'postgres';
  const keyOf =
    by === 'topic'
      ? sql`(select tp.key from topics tp where tp.business_id = m.business_id and tp.id = m.topic_id)`
      : pg
        ? sql`(m.payload::jsonb -> 'template' ->> 'name')`
        : sql`json_extract(m.payload, '$.template.name')`;
  const sent = await sql<{ key: string | null; n: number | string }>`
    select ${keyOf} as key, count(*) as n from messages m
    where m.business_id = ${businessId} and m.kind = 'notification' and m.sent_at >= ${from} and m.sent_at < ${to}
    group by 1`.execute(database.db);
  // For each opt-out, the person's latest notification sent before it (and within the window, and in range).
  const outs = await sql<{ key: string | null; n: number | string }>`
    select ${keyOf} as key, count(*) as n from consent_events e
    join messages m on m.business_id = e.business_id and m.id = (
      select m2.id from messages m2
      where m2.business_id = e.business_id and m2.person_id = e.person_id and m2.kind = 'notification'
        and m2.sent_at is not null and m2.sent_at <= e.occurred_at and m2.sent_at > e.occurred_at - ${windowMs}
      order by m2.sent_at desc, m2.id desc limit 1)
    where e.business_id = ${businessId} and e.type = 'opt_out' and e.occurred_at >= ${from} and e.occurred_at < ${to + windowMs}
      and m.sent_at >= ${from} and m.sent_at < ${to}
    group by 1`.execute(database.db);
  return {
    sent: sent.rows.map((x) => ({ key: x.key, n: Number(x.n) })),
    outs: outs.rows.map((x) => ({ key: x.key, n: Number(x.n) })),
  };
}

/** Per channel: invitations made, people who opted in there, and of those, people with a confirmed event since. */
export async function funnel(database: Database, businessId: string, from: number, to: number, channel?: string) {
  const ch = channel ? sql`and channel = ${channel}` : sql``;
  const inv = await sql<{ channel: string; n: number | string }>`
    select channel, count(*) as n from invitations where business_id = ${businessId} and created_at >= ${from} and created_at < ${to} ${ch} group by channel`.execute(
    database.db,
  );
  const ins = await sql<{ channel: string; opted: number | string; confirmed: number | string }>`
    select i.channel as channel, count(*) as opted,
      sum(case when exists (select 1 from consent_events c where c.business_id = i.business_id and c.person_id = i.person_id
        and c.type = 'confirmed' and c.occurred_at >= i.first_at and c.occurred_at < ${to}) then 1 else 0 end) as confirmed
    from (select business_id, person_id, channel, min(occurred_at) as first_at from consent_events
          where business_id = ${businessId} and type = 'opt_in' and occurred_at >= ${from} and occurred_at < ${to} ${ch}
          group by business_id, person_id, channel) i
    group by i.channel`.execute(database.db);
  return {
    invited: inv.rows.map((x) => ({ channel: x.channel, n: Number(x.n) })),
    optedIn: ins.rows.map((x) => ({ channel: x.channel, opted: Number(x.opted), confirmed: Number(x.confirmed) })),
  };
}

/** Current consent per topic (the projection) and the people not erased. */
export async function totals(database: Database, businessId: string) {
  const r = await sql<{ topic: string; status: string; n: number | string }>`
    select t.key as topic, s.status as status, count(*) as n from consent_state s
    join topics t on t.business_id = s.business_id and t.id = s.topic_id
    where s.business_id = ${businessId} group by t.key, s.status`.execute(database.db);
  const p = await sql<{
    n: number | string;
  }>`select count(*) as n from people where business_id = ${businessId} and erased_at is null`.execute(database.db);
  return {
    rows: r.rows.map((x) => ({ topic: x.topic, status: x.status, n: Number(x.n) })),
    people: Number(p.rows[0]?.n ?? 0),
  };
}
