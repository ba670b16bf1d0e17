// "30-day daily report over 1M events": one business's ledger holds 1,000,000 events spread over 90 days (so
// the 30 days hold about a third of them); the figure is the median time of the events report (day buckets in
// Europe/London) over the last 30 days, through the service, as the API runs it. Rows are generated in SQL.
import { sql } from 'kysely';
import type { Dialect_ } from '../src/storage/db.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { eventReport } from '../src/services/reports/consent-reports.js';
import { benchContext, figure, openBenchDb, type Figure } from './lib.js';
import type { ExtraBench } from './extra.js';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

async function run(dialect: Dialect_, quick: boolean): Promise<Figure[]> {
  const events = quick ? 200_000 : 1_000_000;
  const db = await openBenchDb(dialect);
  const ctx = benchContext(db);
  try {
    const b = await createBusiness(ctx, { slug: `reports-${Date.now()}`, displayName: 'Reports' });
    const step = Math.floor((90 * DAY) / events);
    // Deterministic mix: 4 types, 4 channels, 2 topic lists; one person per 5 events.
    const cols = (n: string) =>
      sql.raw(`
      '${b.id}', 'evt_b' || ${n}, 'per_b' || (${n} / 5), ${n}, 
      case ${n} % 4 when 0 then 'opt_in' when 1 then 'opt_out' when 2 then 'confirmation_sent' else 'confirmed' end,
      'topics', case ${n} % 2 when 0 then '["delivery"]' else '["delivery","billing"]' end,
      case ${n} % 3 when 0 then 'web' when 1 then 'whatsapp' else 'sms' end, 'checked_box', null,
      ${START} + ${n} * ${step}, ${START} + ${n} * ${step}, null, 'bench', 'x', null, 'x'`);
    const list = sql.raw(
      'business_id, id, person_id, seq, type, scope, topic_keys, channel, action, text_hash, occurred_at, recorded_at, source_ref, actor, evidence_hash, prev_hash, hash',
    );
    if (dialect === 'postgres') {
      await sql`insert into consent_events (${list}) select ${cols('(g::bigint)')} from generate_series(0, ${sql.lit(events - 1)}) g`.execute(
        db.db,
      );
      await sql`vacuum analyze consent_events`.execute(db.db);
    } else {
      await sql`insert into consent_events (${list}) with recursive s(g) as (select 0 union all select g + 1 from s where g < ${sql.lit(events - 1)}) select ${cols('g')} from s`.execute(
        db.db,
      );
      await sql`analyze`.execute(db.db);
    }
    const to = START + 90 * DAY;
    const q = {
      from: new Date(to - 30 * DAY).toISOString(),
      to: new Date(to).toISOString(),
      bucket: 'day' as const,
      tz: 'Europe/London',
    };
    const times = async (groupBy?: 'channel' | 'topic') => {
      const t: number[] = [];
      let counted = 0;
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const r = await eventReport(ctx, b.id, { ...q, ...(groupBy ? { groupBy } : {}) });
        t.push(performance.now() - t0);
        counted = r.series.reduce(
          (s, x) => s + x.points.reduce((a, p) => a + p.optIns + p.optOuts + p.confirmationsSent, 0),
          0,
        );
      }
      t.sort((a, c) => a - c);
      return { median: Math.round(t[3]! * 10) / 10, counted };
    };
    const plain = await times();
    const byChannel = await times('channel');
    const byTopic = await times('topic');
    return [
      figure({
        name: `30-day daily report over ${events / 1_000_000}M events`,
        dialect,
        value: plain.median,
        unit: 'ms',
        floorName: 'target',
        floor: 200,
        higherIsBetter: false,
        target: '≤ 200 ms',
        targetMax: 200,
        extra: { events_in_range: plain.counted, by_channel_ms: byChannel.median, by_topic_ms: byTopic.median },
      }),
    ];
  } finally {
    await db.close();
  }
}

export const reportsBench: ExtraBench = { name: 'reports', run: (d, o) => run(d, o.quick) };
