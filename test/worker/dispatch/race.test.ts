/**
 * Opt-outs racing the dispatch: 600 notifications (and 200 confirmations) for 200 people, dispatched by
 * several workers against the fake Cloud API while 100 of those people opt out concurrently.
 * Asserted: no provider call starts after its person's opt-out was acknowledged (recordOptOut returned), no
 * message is claimed by a claim that began after it, no message reaches Meta twice, and every message ends in
 * a final state that tells the truth. Waiting is bounded by progress, not by time: a slow machine is fine.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCloudClient, type CloudClient } from '../../../src/channels/whatsapp-cloud/client.js';
import { startFakeCloudApi } from '../../../src/channels/whatsapp-cloud/fake-cloud-api.js';
import { systemClock } from '../../../src/lib/clock.js';
import { createKeyring } from '../../../src/lib/crypto.js';
import { silentLogger } from '../../../src/lib/logger.js';
import type { ServiceContext } from '../../../src/services/context.js';
import { recordOptInTx } from '../../../src/services/consent/record-opt-in.js';
import { resolvePersonRef } from '../../../src/services/consent/person-ref.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { upsertChannelAccount } from '../../../src/storage/business/channel-store.js';
import { insertMessage } from '../../../src/storage/dispatch/outbox-store.js';
import { openPostgres, type Database, type Dialect_ } from '../../../src/storage/db.js';
import { startDispatchWorker, type DispatchWorker } from '../../../src/worker/dispatch/index.js';
import { TEST_MASTER_KEY } from '../../helpers/context.js';
import { openTestDb, PG_URL } from '../../helpers/db.js';
import { seedBusiness, webEvidence } from '../../helpers/seed.js';

const PEOPLE = 200;
const PER_PERSON = 3;
const OPTING_OUT = 100;
/** Polls in a row with no progress at all (no message claimed or settled) before the test gives up. */
const MAX_IDLE_POLLS = 500;

const ctxOf = (database: Database): ServiceContext => ({
  database,
  clock: systemClock,
  keyring: createKeyring(TEST_MASTER_KEY),
  logger: silentLogger(),
});
const phoneOf = (i: number) => `+4479112${String(10_000 + i)}`;

interface Variant {
  name: string;
  dialect: Dialect_;
  workers: number;
  /** Separate pools on one PostgreSQL schema; else the workers share the test's database handle. */
  separatePools: boolean;
}

const variants: Variant[] = [
  { name: 'SQLite: 3 workers sharing the one connection', dialect: 'sqlite', workers: 3, separatePools: false },
  PG_URL
    ? {
        name: 'PostgreSQL (real server): 3 workers on separate pools, FOR UPDATE SKIP LOCKED',
        dialect: 'postgres',
        workers: 3,
        separatePools: true,
      }
    : {
        name: 'PostgreSQL on PGlite: ONE worker only (no real PostgreSQL; set OPTLINE_TEST_DATABASE_URL for 3 workers on separate pools)',
        dialect: 'postgres',
        workers: 1,
        separatePools: false,
      },
];

for (const v of variants) {
  describe(`dispatch race: opt-outs committed while workers dispatch [${v.dialect}]`, () => {
    // Opening the database (PGlite takes seconds to start) is not part of the race's time bound.
    let main!: Database;
    before(async () => {
      main = await openTestDb(v.dialect, { poolSize: 8 });
    });
    it(v.name, { timeout: 300_000 }, async (t) => {
      const pools: Database[] = [];
      const fake = await startFakeCloudApi({ latencyMs: 2 });
      const workers: DispatchWorker[] = [];
      t.after(async () => {
        await Promise.all(workers.map((w) => w.stop()));
        await fake.close();
        for (const p of pools) await p.close();
        await main.close();
      });
      const ctx = ctxOf(main);
      const { business, text } = await seedBusiness(ctx, {
        policy: { confirmationTemplate: { name: 'optin_confirm_v1', language: 'en_US' } },
      });
      await upsertChannelAccount(
        main,
        ctx.keyring,
        {
          businessId: business.id,
          provider: 'whatsapp_cloud',
          externalId: 'race',
          settings: { phoneNumberId: '1065400000' },
          secrets: { accessToken: 't' },
        },
        Date.now(),
      );

      // Real opt-ins (ledger, state, a confirmation queued with each), fifty per transaction to keep the setup short.
      const personOf = new Map<string, number>();
      for (let from = 0; from < PEOPLE; from += 50) {
        await main.transaction(async (trx) => {
          for (let i = from; i < Math.min(PEOPLE, from + 50); i++) {
            const input = {
              person: { phone: phoneOf(i) },
              topics: ['delivery', 'billing'],
              channel: 'web' as const,
              action: 'checked_box',
              textHash: text.hash,
              evidence: webEvidence,
              actor: 'race',
            };
            const r = await recordOptInTx(ctx, trx, business.id, input, resolvePersonRef(input.person), Date.now());
            personOf.set(r.personId, i);
          }
        });
      }
      // The notifications, as queueMessage would write them after its gate check (the gate at enqueue is not
      // what is tested here), in one transaction to keep the setup short.
      const topics = new Map(
        (await main.db.selectFrom('topics').select(['id', 'key']).where('business_id', '=', business.id).execute()).map(
          (x) => [x.key, x.id],
        ),
      );
      await main.transaction(async (trx) => {
        for (const personId of personOf.keys()) {
          for (let k = 0; k < PER_PERSON; k++) {
            await insertMessage(
              trx,
              {
                businessId: business.id,
                personId,
                topicId: topics.get(k % 2 ? 'billing' : 'delivery')!,
                kind: 'notification',
                notBefore: Date.now(),
                payload: {
                  template: {
                    name: 'order_update',
                    language: 'en_US',
                    bodyParams: [`#${personOf.get(personId)}-${k}`],
                  },
                  requestHash: `r${k}`,
                },
              },
              Date.now(),
            );
          }
        }
      });

      // Workers: their own pools on the same schema (real PostgreSQL), else the shared handle.
      let schema: string | null = null;
      if (v.separatePools)
        schema = (
          await main.db.selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('s')).executeTakeFirstOrThrow()
        ).s;
      const claims: { personId: string; messageId: string; startedAt: number }[] = [];
      // Call starts as the worker makes them (the provider port is invoked), in this process's time.
      const callStarts: { messageId: string; at: number }[] = [];
      const client = createCloudClient({ baseUrl: fake.url });
      const cloud: CloudClient = {
        send: (pn, token, body) => {
          callStarts.push({
            messageId: String((body as { biz_opaque_callback_data?: string }).biz_opaque_callback_data),
            at: performance.now(),
          });
          return client.send(pn, token, body);
        },
      };
      for (let w = 0; w < v.workers; w++) {
        const database = v.separatePools ? openPostgres(PG_URL, { schema: schema!, poolSize: 4 }) : main;
        if (v.separatePools) pools.push(database);
        workers.push(
          startDispatchWorker({
            ctx: ctxOf(database),
            cloud,
            workerId: `wrk_race_${w}`,
            config: {
              enabled: true,
              pollMs: 5,
              batchSize: 25,
              leaseMs: 60_000,
              concurrency: 8,
              defaultRatePerSecond: 100_000,
            },
            onClaim: (c) => {
              for (const it of c.items)
                claims.push({ personId: it.personId, messageId: it.id, startedAt: c.startedAt });
            },
          }),
        );
      }

      // Opt-outs, four at a time, while the workers run; each commit time noted when the commit returns.
      const optingOut = [...personOf.entries()]
        .filter(([, i]) => i % 2 === 0)
        .map(([id]) => id)
        .slice(0, OPTING_OUT);
      const committedAt = new Map<string, number>();
      const queue = [...optingOut];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let id = queue.shift(); id; id = queue.shift()) {
            await recordOptOut(ctx, business.id, {
              person: { personId: id },
              scope: 'all',
              channel: 'whatsapp',
              action: 'sent_keyword',
              evidence: { messageId: `wamid.stop-${id}` },
              actor: 'race',
            });
            committedAt.set(id, performance.now());
          }
        }),
      );

      // Until nothing is open, for as long as the workers make progress (counted, not timed).
      let idle = 0;
      let lastProgress = '';
      for (;;) {
        const open = await main.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('business_id', '=', business.id)
          .where('status', 'in', ['queued', 'sending'])
          .executeTakeFirstOrThrow();
        if (Number(open.n) === 0) break;
        const progress = `${open.n}/${workers
          .map((w) => {
            const x = w.metrics();
            return (
              x.claimed +
              x.sent +
              x.failed +
              x.retried +
              x.released +
              x.refusedAtClaim +
              x.cancelledAtClaim +
              x.skippedCancelled +
              x.stoppedAtStart
            );
          })
          .join(',')}`;
        idle = progress === lastProgress ? idle + 1 : 0;
        lastProgress = progress;
        assert.ok(
          idle < MAX_IDLE_POLLS,
          `${open.n} messages still open and no worker progressed for ${MAX_IDLE_POLLS} polls`,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(workers.map((w) => w.stop()));

      // 1. No provider call started after the person's opt-out was acknowledged, and no claim that began
      //    after it took one of their messages.
      const personOfMessage = new Map(
        (
          await main.db
            .selectFrom('messages')
            .select(['id', 'person_id'])
            .where('business_id', '=', business.id)
            .execute()
        ).map((r) => [r.id, r.person_id]),
      );
      const lateCalls = callStarts.filter((c) => {
        const acked = committedAt.get(personOfMessage.get(c.messageId) ?? '');
        return acked !== undefined && c.at > acked;
      });
      assert.deepEqual(lateCalls, [], 'provider calls started after the opt-out was acknowledged');
      const late = claims.filter((c) => committedAt.has(c.personId) && c.startedAt > committedAt.get(c.personId)!);
      assert.deepEqual(late, [], 'messages claimed after their opt-out committed');

      // 2. Nothing reached Meta twice, and every message that reached it is recorded as sent.
      const ids = fake.sent.map((s) => s.body.biz_opaque_callback_data as string);
      assert.equal(new Set(ids).size, ids.length, 'a message was sent twice');
      assert.equal(new Set(claims.map((c) => c.messageId)).size, claims.length, 'a message was claimed twice');
      const rows = await main.db
        .selectFrom('messages')
        .select(['id', 'person_id', 'kind', 'status', 'error_code', 'error_detail'])
        .where('business_id', '=', business.id)
        .execute();
      const sentIds = new Set(rows.filter((r) => r.status === 'sent').map((r) => r.id));
      assert.deepEqual(
        [...new Set(ids)].filter((id) => !sentIds.has(id)),
        [],
        'sent to Meta but not recorded as sent',
      );
      assert.equal(sentIds.size, ids.length);

      // 3. Every message of a person who did not opt out was sent; every message of one who did was either
      //    stopped, or its call had started before the opt-out was acknowledged (recorded as sent, not cancelled).
      const claimedAt = new Map(claims.map((c) => [c.messageId, c.startedAt]));
      const callAt = new Map(callStarts.map((c) => [c.messageId, c.at]));
      let stopped = 0;
      let leftBefore = 0;
      for (const r of rows) {
        if (!committedAt.has(r.person_id)) {
          assert.equal(r.status, 'sent', `${r.kind} ${r.id} of a subscribed person: ${r.status} ${r.error_code}`);
        } else if (r.status === 'sent') {
          leftBefore++;
          assert.ok(claimedAt.get(r.id)! < committedAt.get(r.person_id)!, `${r.id} sent but claimed after the opt-out`);
          assert.ok(
            callAt.get(r.id)! < committedAt.get(r.person_id)!,
            `${r.id} sent but its call started after the opt-out`,
          );
        } else {
          stopped++;
          assert.ok(['cancelled', 'refused'].includes(r.status), `${r.id}: ${r.status}`);
        }
      }
      const m = workers.map((w) => w.metrics());
      t.diagnostic(
        `${rows.length} messages, ${ids.length} sent, opted-out people: ${stopped} stopped, ${leftBefore} had left before the opt-out` +
          ` (${m.reduce((a, x) => a + x.skippedCancelled + x.stoppedAtStart, 0)} stopped at the last re-check); claims per worker ${m.map((x) => x.claimed).join('/')}`,
      );
      assert.ok(stopped > 0, 'the opt-outs stopped something (else the race was not exercised)');
      assert.equal(rows.length, PEOPLE * (PER_PERSON + 1));
    });
  });
}
