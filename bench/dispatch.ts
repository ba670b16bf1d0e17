// Dispatch worker benchmarks: end-to-end throughput (claim with the gate re-checked, send to the fake Cloud
// API over loopback, record outcomes) and pacing accuracy at a configured per-number rate.
// Run alone: node --import tsx bench/dispatch.ts [sqlite|postgres] [--quick]
import { startFakeCloudChild } from './fake-cloud-child.js';
import { pathToFileURL } from 'node:url';
import { createCloudClient } from '../src/channels/whatsapp-cloud/client.js';
import { startFakeCloudApi } from '../src/channels/whatsapp-cloud/fake-cloud-api.js';
import { textMessage } from '../src/channels/whatsapp-cloud/messages.js';
import { newId } from '../src/lib/ids.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { createTopic } from '../src/services/admin/manage-topics.js';
import type { ServiceContext } from '../src/services/context.js';
import { upsertChannelAccount } from '../src/storage/business/channel-store.js';
import type { Database, Dialect_ } from '../src/storage/db.js';
import type { DB } from '../src/storage/schema.js';
import { startDispatchWorker } from '../src/worker/dispatch/index.js';
import type { ExtraBench } from './extra.js';
import { benchContext, figure, openBenchDb, pgAvailable, type Figure } from './lib.js';

const WORKER = { enabled: true, pollMs: 20, batchSize: 500, leaseMs: 60_000, concurrency: 64 };

/** A business with a WhatsApp number, `n` opted-in people and one queued notification each (bulk inserts). */
export async function seed(
  database: Database,
  n: number,
  ratePerSecond: number,
  context?: ServiceContext,
): Promise<{ ctx: ServiceContext; businessId: string }> {
  const ctx = context ?? benchContext(database);
  const b = await createBusiness(ctx, { slug: `bench-${newId('x').slice(-8)}`, displayName: 'Bench Shop' });
  const topic = await createTopic(ctx, b.id, { key: 'delivery', name: 'delivery updates', category: 'utility' });
  await upsertChannelAccount(
    database,
    ctx.keyring,
    {
      businessId: b.id,
      provider: 'whatsapp_cloud',
      externalId: `bench-${b.id}`,
      settings: { phoneNumberId: '1065400000', ratePerSecond },
      secrets: { accessToken: 'bench' },
    },
    Date.now(),
  );
  const now = Date.now();
  const people: DB['people'][] = [];
  const states: DB['consent_state'][] = [];
  const messages: DB['messages'][] = [];
  for (let i = 0; i < n; i++) {
    const pid = newId('per', now);
    people.push({
      business_id: b.id,
      id: pid,
      phone_e164: `+4479${String(10_000_000 + i)}`,
      wa_id: null,
      bsuid: null,
      country: 'GB',
      language: 'en',
      timezone: 'Europe/London',
      created_at: now,
      updated_at: now,
      erased_at: null,
      last_inbound_at: null,
      unreachable_at: null,
      chain_seq: 0,
      chain_head: null,
    });
    states.push({
      business_id: b.id,
      person_id: pid,
      topic_id: topic.id,
      status: 'opted_in',
      decided_at: now,
      event_id: 'evt_bench',
      updated_at: now,
    });
    messages.push({
      business_id: b.id,
      id: newId('msg', now),
      person_id: pid,
      topic_id: topic.id,
      kind: 'notification',
      status: 'queued',
      payload: JSON.stringify({ template: { name: 'order_update', language: 'en_US', bodyParams: [`#${i}`] } }),
      idempotency_key: null,
      related_event_id: null,
      not_before: now,
      attempts: 0,
      lease_owner: null,
      lease_until: null,
      provider_message_id: null,
      error_code: null,
      error_detail: null,
      status_at: null,
      created_at: now,
      updated_at: now,
      sent_at: null,
    });
  }
  await database.transaction(async (trx) => {
    for (let i = 0; i < n; i += 500) {
      await trx
        .insertInto('people')
        .values(people.slice(i, i + 500))
        .execute();
      await trx
        .insertInto('consent_state')
        .values(states.slice(i, i + 500))
        .execute();
      await trx
        .insertInto('messages')
        .values(messages.slice(i, i + 500))
        .execute();
    }
  });
  return { ctx, businessId: b.id };
}

async function countSent(database: Database, businessId: string): Promise<number> {
  const r = await database.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('business_id', '=', businessId)
    .where('status', '=', 'sent')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export interface DispatchBenchResult {
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  claimRounds: number;
  outcomeBatches: number;
  accepted: number;
}

/**
 * Queues `messages` notifications for opted-in people and times one worker (in this process, rate limit
 * raised out of the way) until every one is recorded as sent.
 */
export async function benchDispatch(database: Database, opts: { messages: number }): Promise<DispatchBenchResult> {
  const { ctx, businessId } = await seed(database, opts.messages, 1_000_000);
  const fake = await startFakeCloudApi({ sentCap: opts.messages + 10 });
  const cloud = createCloudClient({ baseUrl: fake.url });
  try {
    const t0 = performance.now();
    const worker = startDispatchWorker({ ctx, cloud, config: { ...WORKER, defaultRatePerSecond: 1_000_000 } });
    while (worker.metrics().sent + worker.metrics().failed < opts.messages) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    await worker.stop();
    const m = worker.metrics();
    const sent = await countSent(database, businessId);
    if (sent !== opts.messages)
      throw new Error(`bench dispatch: ${sent} of ${opts.messages} sent (${m.failed} failed)`);
    return {
      messages: opts.messages,
      seconds,
      messagesPerSecond: Math.round(opts.messages / seconds),
      claimRounds: m.claimRounds,
      outcomeBatches: m.outcomeBatches,
      accepted: fake.counts().accepted,
    };
  } finally {
    await fake.close();
  }
}

export interface PacingBenchResult {
  configured: number;
  achieved: number;
  /** |achieved − configured| / configured, in percent. */
  errorPct: number;
  sends: number;
  /** The most sends the fake received within any one second (Meta's limit is per second). */
  maxInAnySecond: number;
  /** The most sends the worker made (called the client) within any one second. */
  maxSentInAnySecond: number;
}

export function busiestSecond(times: number[]): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

/**
 * Sends at a configured per-number rate for `seconds` and measures the achieved rate from the fake's own
 * receive times (first send to the end of the window), and the busiest second as the fake saw it. The fake
 * runs in a child process (its clock is not held up by this process's event loop) and does not enforce
 * the rate: a 130429 would slow the number down and measure that reaction instead.
 */
export async function benchPacing(
  database: Database,
  opts: { ratePerSecond?: number; seconds?: number } = {},
): Promise<PacingBenchResult> {
  const rate = opts.ratePerSecond ?? 80;
  const seconds = opts.seconds ?? 3;
  const { ctx } = await seed(database, Math.ceil(rate * (seconds + 2)), rate);
  const fake = await startFakeCloudChild();
  try {
    const client = createCloudClient({ baseUrl: fake.url });
    const sentAt: number[] = [];
    const cloud = {
      send: (pn: string, token: string, body: object) => (sentAt.push(Date.now()), client.send(pn, token, body)),
    };
    const worker = startDispatchWorker({ ctx, cloud, config: { ...WORKER, defaultRatePerSecond: rate } });
    await new Promise((r) => setTimeout(r, seconds * 1000 + 1000));
    await worker.stop();
    const all = await fake.times();
    // The first half-second is left out: the worker starts, claims, warms its connections.
    const first = all[0]! + 500;
    const times = all.filter((t) => t >= first && t < first + seconds * 1000);
    const achieved = times.length / seconds;
    return {
      configured: rate,
      achieved,
      errorPct: Math.round((Math.abs(achieved - rate) / rate) * 10_000) / 100,
      sends: times.length,
      maxInAnySecond: busiestSecond(times),
      maxSentInAnySecond: busiestSecond(sentAt),
    };
  } finally {
    await fake.close();
  }
}

/** The floor: the fake Cloud API and the CloudClient alone, same process, same concurrency, no database. */
export async function rawSendsPerSecond(ms: number, concurrency = WORKER.concurrency): Promise<number> {
  const fake = await startFakeCloudApi({ sentCap: 1000 });
  const cloud = createCloudClient({ baseUrl: fake.url });
  try {
    const body = textMessage({ to: '+447911123456', body: 'x' });
    let n = 0;
    const end = performance.now() + ms;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          await cloud.send('1065400000', 'bench', body);
          n++;
        }
      }),
    );
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await fake.close();
  }
}

export const dispatchBench: ExtraBench = {
  name: 'dispatch',
  async run(dialect: Dialect_, o: { ms: number; quick: boolean }): Promise<Figure[]> {
    const messages = o.quick ? 5_000 : 20_000;
    const floor = await rawSendsPerSecond(o.ms);
    const db1 = await openBenchDb(dialect);
    let d: DispatchBenchResult;
    try {
      d = await benchDispatch(db1, { messages });
    } finally {
      await db1.close();
    }
    const db2 = await openBenchDb(dialect);
    let p: PacingBenchResult;
    try {
      p = await benchPacing(db2, { ratePerSecond: 80, seconds: o.quick ? 2 : 4 });
    } finally {
      await db2.close();
    }
    return [
      figure({
        name: `dispatch ${messages.toLocaleString('en')} messages end-to-end`,
        dialect,
        value: d.messagesPerSecond,
        unit: 'msgs/s',
        floorName: 'fake Cloud API + CloudClient alone, no database',
        floor: Math.round(floor),
        target: '≥ 2,000 msgs/s, ratio ≥ 0.7',
        extra: {
          seconds: Math.round(d.seconds * 100) / 100,
          claim_rounds: d.claimRounds,
          outcome_batches: d.outcomeBatches,
        },
      }),
      {
        ...figure({
          name: 'pacing at a configured 80/s',
          dialect,
          value: Math.round(p.achieved * 10) / 10,
          unit: 'msgs/s',
          floorName: 'configured rate',
          floor: p.configured,
          target: 'within 2%, busiest second at the provider ≤ rate + 2%',
          extra: {
            error_pct: p.errorPct,
            sends: p.sends,
            busiest_second_received: p.maxInAnySecond,
            busiest_second_sent: p.maxSentInAnySecond,
          },
        }),
        met: p.errorPct <= 2 && p.maxInAnySecond <= p.configured * 1.02,
      },
    ].map((f, i) => (i === 0 ? { ...f, met: d.messagesPerSecond >= 2000 && (f.ratio ?? 0) >= 0.7 } : f));
  },
};

// Run on its own: prints the figures for one dialect (default: both when PostgreSQL is reachable).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const which = process.argv.slice(2).find((a) => a === 'sqlite' || a === 'postgres') as Dialect_ | undefined;
  const quick = process.argv.includes('--quick');
  const dialects: Dialect_[] = which ? [which] : ['sqlite', ...((await pgAvailable()) ? ['postgres' as const] : [])];
  for (const dialect of dialects) {
    for (const f of await dispatchBench.run(dialect, { ms: 2000, quick }))
      process.stdout.write(`${JSON.stringify(f)}\n`);
  }
}
