import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import {
  sendStartFor,
  type StartDecision,
  type StartFacts,
  type StartRequest,
} from '../../../src/storage/dispatch/send-start.js';
import { harness } from './helpers.js';

const OWNER = 'wrk_port_test';
const PHONES = ['+447911200001', '+447911200002', '+447911200003', '+447911200004', '+447911200005'];

/**
 * The start port on its own: one step over a batch whose messages get every decision, and one whose lease was
 * lost. Started rows carry the step's time; stopped ones are settled and carry none (the provisional mark, on
 * PostgreSQL, is put back); only started ones are handed to `go`.
 */
forEachDialect('send start port: one step, every decision', (db) => {
  it('starts, cancels, refuses, releases (try uncounted) and reports a lost lease as gone, all in one step', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const reqs: StartRequest[] = [];
    for (const phone of PHONES) {
      const { personId } = await h.optIn(phone);
      const m = await h.queue(phone);
      reqs.push({ businessId: h.business.id, id: m.id, personId, attempt: 1 });
    }
    // Leased to this owner at try 1, as a claim leaves them; the last one's lease went to someone else.
    await h.ctx.database.db
      .updateTable('messages')
      .set({ status: 'sending', lease_owner: OWNER, lease_until: h.ctx.clock.now() + 60_000, attempts: 1 })
      .where('business_id', '=', h.business.id)
      .execute();
    await h.ctx.database.db
      .updateTable('messages')
      .set({ lease_owner: 'wrk_other' })
      .where('business_id', '=', h.business.id)
      .where('id', '=', reqs[4]!.id)
      .execute();

    const now = h.ctx.clock.now() + 5;
    const decisions: StartDecision[] = [
      { action: 'start' },
      { action: 'cancel', code: 'OPTED_OUT', detail: 'The person opted out.' },
      { action: 'refuse', code: 'NO_CONSENT', detail: 'No consent.' },
      { action: 'release', notBefore: now + 1000, code: 'QUIET_HOURS', detail: 'Quiet hours.' },
      { action: 'start' },
    ];
    const seen: StartFacts[] = [];
    const went: string[] = [];
    const results = await sendStartFor(h.ctx.database).begin([...reqs], {
      owner: OWNER,
      now,
      decide: (req, facts) => {
        seen.push(facts);
        return decisions[reqs.indexOf(req)]!;
      },
      go: (req) => went.push(req.id),
    });

    assert.deepEqual(
      results.map((r) => r.action),
      ['start', 'cancel', 'refuse', 'release', 'gone'],
    );
    assert.deepEqual(went, [reqs[0]!.id]);
    assert.equal(seen.length, 4, 'the verdict is asked only for rows still leased to this try');
    for (const f of seen) {
      assert.equal(f.row.call_started_at ?? null, null, 'the verdict sees the row not started');
      assert.ok(f.person, 'the person was read');
      assert.equal(f.person.erased, false);
      assert.ok(f.states && f.states.size >= 1, 'the consent state was read');
      assert.equal([...f.states.values()][0]!.status, 'opted_in');
    }

    const rows = await h.ctx.database.db
      .selectFrom('messages')
      .selectAll()
      .where('business_id', '=', h.business.id)
      .execute();
    const row = (i: number) => rows.find((r) => r.id === reqs[i]!.id)!;
    assert.equal(row(0).status, 'sending');
    assert.equal(Number(row(0).call_started_at), now);
    assert.equal(row(0).lease_owner, OWNER);
    assert.equal(row(1).status, 'cancelled');
    assert.equal(Number(row(1).cancelled_at), now);
    assert.equal(row(1).cancel_reason, 'OPTED_OUT');
    assert.equal(row(2).status, 'refused');
    assert.equal(row(2).error_code, 'NO_CONSENT');
    assert.equal(row(2).cancelled_at ?? null, null);
    assert.equal(row(3).status, 'queued');
    assert.equal(Number(row(3).not_before), now + 1000);
    assert.equal(Number(row(3).attempts), 0, 'a release does not count the try');
    for (const i of [1, 2, 3]) {
      assert.equal(row(i).call_started_at ?? null, null, 'a stopped message carries no start time');
      assert.equal(row(i).lease_owner, null);
    }
    assert.equal(row(4).status, 'sending');
    assert.equal(row(4).call_started_at ?? null, null, 'a row leased to another worker is left alone');

    // The same batch again: the started one is not started twice, the settled ones are gone.
    const again = await sendStartFor(h.ctx.database).begin(reqs, {
      owner: OWNER,
      now: now + 1,
      decide: () => ({ action: 'start' }),
      go: (r) => went.push(r.id),
    });
    assert.deepEqual(
      again.map((r) => r.action),
      ['gone', 'gone', 'gone', 'gone', 'gone'],
    );
    assert.deepEqual(went, [reqs[0]!.id]);
  });

  it('an erased person (row gone) reaches the verdict as no person', async (t) => {
    const h = await harness(db());
    t.after(() => h.close());
    const { personId } = await h.optIn(PHONES[0]!);
    const m = await h.queue(PHONES[0]!);
    await h.ctx.database.db
      .updateTable('messages')
      .set({ status: 'sending', lease_owner: OWNER, attempts: 1 })
      .where('business_id', '=', h.business.id)
      .execute();
    const req = { businessId: h.business.id, id: m.id, personId: `${personId}_missing`, attempt: 1 };
    let facts: StartFacts | undefined;
    const r = await sendStartFor(h.ctx.database).begin([req], {
      owner: OWNER,
      now: h.ctx.clock.now(),
      decide: (_q, f) => (
        (facts = f),
        { action: 'cancel', code: 'CONTACT_ERASED', detail: 'The person no longer exists.' }
      ),
      go: () => assert.fail('no call'),
    });
    assert.deepEqual(
      r.map((x) => x.action),
      ['cancel'],
    );
    assert.equal(facts?.person, undefined);
    assert.equal(facts?.states, undefined);
    assert.equal((await h.message(m.id)).status, 'cancelled');
  });
});
