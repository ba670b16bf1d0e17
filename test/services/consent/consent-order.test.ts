import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forEachDialect } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { newNumber, personBy } from '../../helpers/whatsapp-people.js';
import { webEvidence } from '../../helpers/seed.js';
import { inboundInteractive, inboundText } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { optOutAllReplyId, optOutTopicReplyId } from '../../../src/domain/chat/actions.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';

/**
 * G3 (time at the source's precision) and G4 (the final state is a function of the set of actions, not of
 * their arrival order), through the real services and the real webhook path on both dialects.
 */

type Topic = 'delivery' | 'billing';
type Action =
  | { kind: 'api_opt_in'; at: number; topics: Topic[] }
  | { kind: 'wa_stop'; at: number }
  | { kind: 'wa_start'; at: number }
  | { kind: 'tap_optout_topic'; at: number; topic: Topic }
  | { kind: 'tap_optout_all'; at: number }
  | { kind: 'pref_off'; at: number; topic: Topic }
  | { kind: 'pref_on'; at: number; topic: Topic }
  | { kind: 'api_stop'; at: number };

forEachDialect('consent order and precision', (db) => {
  let t: WaTestApp;
  let b: Awaited<ReturnType<WaTestApp['business']>>;
  // Every action happened within a few seconds; the webhooks are processed a minute later (now is fixed).
  let base = 0;
  before(async () => {
    t = await buildWaTestApp(db());
    b = await t.business();
    base = Math.floor(t.ctx.clock.now() / 1000) * 1000;
    t.ctx.clock.set(base + 60_000);
  });
  after(async () => {
    await t.close();
  });

  async function apply(n: { e164: string; digits: string }, a: Action): Promise<void> {
    const bid = b.business.id;
    const wa = { phoneNumberId: b.phoneNumberId, from: n.digits, timestampMs: base + a.at };
    switch (a.kind) {
      case 'api_opt_in':
        await recordOptIn(t.ctx, bid, {
          person: { phone: n.e164 },
          topics: a.topics,
          channel: 'web',
          action: 'checked_box',
          textHash: b.text.hash,
          occurredAt: base + a.at,
          evidence: webEvidence,
          actor: 'test',
        });
        return;
      case 'pref_on':
        await recordOptIn(t.ctx, bid, {
          person: { phone: n.e164 },
          topics: [a.topic],
          channel: 'web',
          action: 'checked_box',
          textHash: b.text.hash,
          occurredAt: base + a.at,
          evidence: webEvidence,
          actor: 'page:preferences',
        });
        return;
      case 'pref_off':
        await recordOptOut(t.ctx, bid, {
          person: { phone: n.e164 },
          scope: 'topics',
          topics: [a.topic],
          channel: 'web',
          action: 'toggled_setting',
          occurredAt: base + a.at,
          evidence: webEvidence,
          actor: 'page:preferences',
        });
        return;
      case 'api_stop':
        await recordOptOut(t.ctx, bid, {
          person: { phone: n.e164 },
          scope: 'all',
          channel: 'api',
          action: 'sent_keyword',
          occurredAt: base + a.at,
          evidence: { requestId: 'r' },
          actor: 'test',
        });
        return;
      case 'wa_stop':
        assert.equal((await t.deliver(inboundText({ ...wa, text: 'STOP' }))).statusCode, 200);
        return;
      case 'wa_start':
        assert.equal((await t.deliver(inboundText({ ...wa, text: 'START' }))).statusCode, 200);
        return;
      case 'tap_optout_topic':
        assert.equal(
          (
            await t.deliver(
              inboundInteractive({ ...wa, replyType: 'list_reply', id: optOutTopicReplyId(a.topic), title: 'Stop' }),
            )
          ).statusCode,
          200,
        );
        return;
      case 'tap_optout_all':
        assert.equal(
          (
            await t.deliver(
              inboundInteractive({ ...wa, replyType: 'button_reply', id: optOutAllReplyId(), title: 'Stop all' }),
            )
          ).statusCode,
          200,
        );
        return;
    }
  }

  async function finalState(phone: string): Promise<Record<string, string>> {
    const p = await personBy(t.ctx.database.db, b.business.id, 'phone_e164', phone);
    if (!p) return {};
    const rows = await t.ctx.database.db
      .selectFrom('consent_state as s')
      .innerJoin('topics as tp', (j) =>
        j.onRef('tp.business_id', '=', 's.business_id').onRef('tp.id', '=', 's.topic_id'),
      )
      .select(['tp.key', 's.status'])
      .where('s.business_id', '=', b.business.id)
      .where('s.person_id', '=', p.id)
      .execute();
    // A topic with no row and one opted out are both "no consent".
    const out: Record<string, string> = { delivery: 'none', billing: 'none' };
    for (const r of rows) out[r.key] = r.status === 'opted_out' ? 'none' : r.status;
    return out;
  }

  const gate = async (phone: string, topic: Topic) =>
    (await decideSend(t.ctx, b.business.id, { person: { phone }, topic })).outcome;

  it('observation 3: a WhatsApp STOP in the same second as an API opt-in (which reads as earlier) wins', async () => {
    const n = newNumber();
    // The opt-in at 12:00:00.400 through the API; the STOP a moment later, which Meta stamps 12:00:00.
    await apply(n, { kind: 'api_opt_in', at: 400, topics: ['delivery', 'billing'] });
    assert.equal(await gate(n.e164, 'delivery'), 'allow');
    await apply(n, { kind: 'wa_stop', at: 400 });
    assert.deepEqual(await finalState(n.e164), { delivery: 'none', billing: 'none' });
    assert.equal(await gate(n.e164, 'delivery'), 'refuse');
    const p = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', n.e164))!;
    const stop = await t.ctx.database.db
      .selectFrom('consent_events')
      .select(['occurred_at', 'occurred_precision_ms'])
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', p.id)
      .where('type', '=', 'opt_out')
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      [Number(stop.occurred_at), Number(stop.occurred_precision_ms)],
      [base, 1000],
      "the STOP keeps Meta's second and its precision",
    );
    // The other way round (STOP stored first, the opt-in within the same second arriving later): still opted out.
    const m = newNumber();
    await apply(m, { kind: 'wa_stop', at: 0 });
    await apply(m, { kind: 'api_opt_in', at: 999, topics: ['delivery'] });
    assert.equal(await gate(m.e164, 'delivery'), 'refuse');
    // An opt-in after the STOP's second is after it.
    await apply(m, { kind: 'api_opt_in', at: 1000, topics: ['delivery'] });
    assert.equal(await gate(m.e164, 'delivery'), 'allow');
  });

  it('observation 4: START at t+5 delivered before STOP at t ends opted in, as the other order does', async () => {
    const first = newNumber();
    const second = newNumber();
    for (const n of [first, second]) await apply(n, { kind: 'api_opt_in', at: 0, topics: ['delivery', 'billing'] });
    await apply(first, { kind: 'wa_start', at: 15_000 });
    await apply(first, { kind: 'wa_stop', at: 10_000 });
    await apply(second, { kind: 'wa_stop', at: 10_000 });
    await apply(second, { kind: 'wa_start', at: 15_000 });
    assert.deepEqual(await finalState(first.e164), { delivery: 'opted_in', billing: 'opted_in' });
    assert.deepEqual(await finalState(second.e164), { delivery: 'opted_in', billing: 'opted_in' });
    const p = (await personBy(t.ctx.database.db, b.business.id, 'phone_e164', first.e164))!;
    const kinds = await t.ctx.database.db
      .selectFrom('consent_events')
      .select(['type', 'scope'])
      .where('business_id', '=', b.business.id)
      .where('person_id', '=', p.id)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      kinds.map((k) => `${k.type}:${k.scope}`),
      ['opt_in:topics', 'opt_in:restore', 'opt_out:all'],
      'the START that changed nothing on arrival is on the record',
    );
  });

  // Times cluster inside three seconds so equal, same-second and near-equal times are common.
  const at = fc.oneof(fc.constantFrom(0, 999, 1000, 1001, 2000), fc.integer({ min: 0, max: 2999 }));
  const topic = fc.constantFrom<Topic>('delivery', 'billing');
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({
      kind: fc.constant('api_opt_in' as const),
      at,
      topics: fc.constantFrom<Topic[]>(['delivery'], ['billing'], ['delivery', 'billing']),
    }),
    fc.record({ kind: fc.constant('wa_stop' as const), at }),
    fc.record({ kind: fc.constant('wa_start' as const), at }),
    fc.record({ kind: fc.constant('tap_optout_topic' as const), at, topic }),
    fc.record({ kind: fc.constant('tap_optout_all' as const), at }),
    fc.record({ kind: fc.constant('pref_off' as const), at, topic }),
    fc.record({ kind: fc.constant('pref_on' as const), at, topic }),
    fc.record({ kind: fc.constant('api_stop' as const), at }),
  );
  const permutation = (len: number) =>
    fc.array(fc.nat(), { minLength: len, maxLength: len }).map((w) =>
      w
        .map((x, i) => [x, i] as const)
        .sort((p, q) => p[0] - q[0] || p[1] - q[1])
        .map(([, i]) => i),
    );

  it('G4: every order of arrival of one set of actions ends in one state (property, bounded)', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(action, { minLength: 2, maxLength: 6 })
          .chain((acts) =>
            fc.tuple(fc.constant(acts), fc.array(permutation(acts.length), { minLength: 2, maxLength: 3 })),
          ),
        async ([acts, orders]) => {
          runs += 1;
          // Always an opt-in first in time, so there is consent to lose; arrival orders are the permutations.
          const set: Action[] = [{ kind: 'api_opt_in', at: 0, topics: ['delivery', 'billing'] }, ...acts];
          const all = [
            set.map((_, i) => i),
            set.map((_, i) => set.length - 1 - i),
            ...orders.map((o) => [0, ...o.map((i) => i + 1)]),
          ];
          const finals: Record<string, string>[] = [];
          for (const order of all) {
            const n = newNumber();
            for (const i of order) await apply(n, set[i]!);
            finals.push(await finalState(n.e164));
          }
          for (const f of finals)
            assert.deepEqual(f, finals[0], `orders ${JSON.stringify(all)} of ${JSON.stringify(set)}`);
        },
      ),
      { numRuns: 20, seed: 8_2026, endOnFailure: true },
    );
    assert.equal(runs >= 20, true);
  });
});
