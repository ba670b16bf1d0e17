import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence, webOptIn } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { verifyChains } from '../../../src/services/consent/person-history.js';
import { expireConsents } from '../../../src/services/consent/expire-consents.js';

const PHONE = '+447911123456';
const DAY = 86_400_000;

forEachDialect('consent expiry', (db) => {
  it('a double opt-in never confirmed expires after 30 days (default) with its own event, not an opt-out, once', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, { policy: { doubleOptIn: true } });
    const person = { phone: PHONE };
    await webOptIn(ctx, business.id, text.hash, person);
    assert.equal(
      (await decideSend(ctx, business.id, { person, topic: 'delivery' })).reasons[0]?.code,
      'CONFIRMATION_PENDING',
    );

    ctx.clock.advance(29 * DAY);
    assert.equal((await expireConsents(ctx, { businessId: business.id })).pendingExpired, 0, 'not yet: 29 days');
    ctx.clock.advance(2 * DAY);
    assert.equal((await expireConsents(ctx, { businessId: business.id })).pendingExpired, 1);
    const d = await decideSend(ctx, business.id, { person, topic: 'delivery' });
    assert.deepEqual(
      d.reasons.map((r) => r.code),
      ['CONSENT_EXPIRED'],
    );

    const events = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      events.map((e) => e.type),
      ['opt_in', 'expired'],
    );
    assert.equal(events[1]!.action, 'pending_expired');
    assert.equal(Number(events[1]!.occurred_at), Number(events[0]!.occurred_at) + 30 * DAY, 'dated when it expired');
    assert.deepEqual(d.reasons[0]!.eventIds, [events[1]!.id]);
    assert.equal((await expireConsents(ctx, { businessId: business.id })).pendingExpired, 0, 'idempotent');
    assert.equal(
      (await verifyChains(db().db, ctx.keyring.ledger, { businessId: business.id })).ok,
      true,
      'the chain still verifies',
    );

    // A new active opt-in gives it back (pending again).
    await webOptIn(ctx, business.id, text.hash, person);
    assert.equal(
      (await decideSend(ctx, business.id, { person, topic: 'delivery' })).reasons[0]?.code,
      'CONFIRMATION_PENDING',
    );
  });

  it('validity per topic: a re-permission prompt before it lapses, then an expired event for that topic only', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, {
      policy: {
        consentExpiry: {
          validityDays: { delivery: 90 },
          repermissionLeadDays: 7,
          repermissionTemplate: { name: 'renew_consent', language: 'en' },
        },
      },
    });
    const person = { phone: PHONE };
    await webOptIn(ctx, business.id, text.hash, person, ['delivery', 'billing']);
    ctx.clock.advance(82 * DAY);
    assert.deepEqual(await expireConsents(ctx, { businessId: business.id }), {
      pendingExpired: 0,
      lapsed: 0,
      prompted: 0,
    });
    ctx.clock.advance(2 * DAY);
    assert.deepEqual(
      await expireConsents(ctx, { businessId: business.id }),
      { pendingExpired: 0, lapsed: 0, prompted: 1 },
      'asked 7 days before',
    );
    assert.equal((await expireConsents(ctx, { businessId: business.id })).prompted, 0, 'asked once');
    const prompts = await db()
      .db.selectFrom('messages')
      .selectAll()
      .where('business_id', '=', business.id)
      .where('kind', '=', 'notification')
      .execute();
    assert.equal(prompts.length, 1);
    assert.equal(JSON.parse(prompts[0]!.payload).template.name, 'renew_consent', 'the window is closed: the template');

    ctx.clock.advance(6 * DAY);
    assert.equal((await expireConsents(ctx, { businessId: business.id })).lapsed, 1);
    assert.equal(
      (await decideSend(ctx, business.id, { person, topic: 'delivery' })).reasons[0]?.code,
      'CONSENT_EXPIRED',
    );
    assert.equal(
      (await decideSend(ctx, business.id, { person, topic: 'billing' })).outcome,
      'allow',
      'billing has no validity',
    );
    const types = await db()
      .db.selectFrom('consent_events')
      .select(['type', 'action', 'topic_keys'])
      .where('business_id', '=', business.id)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      types.map((e) => [e.type, e.action, e.topic_keys]),
      [
        ['opt_in', 'checked_box', '["billing","delivery"]'],
        ['expired', 'validity_lapsed', '["delivery"]'],
      ],
    );
    assert.equal((await verifyChains(db().db, ctx.keyring.ledger, { businessId: business.id })).ok, true);
  });

  it('an expiry ends only the decision it names: a later opt-in that arrives after the expiry is kept', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx, { policy: { consentExpiry: { validityDays: { '*': 30 } } } });
    const person = { phone: PHONE };
    const t0 = ctx.clock.now();
    await webOptIn(ctx, business.id, text.hash, person);
    ctx.clock.advance(31 * DAY);
    assert.equal((await expireConsents(ctx, { businessId: business.id })).lapsed, 1);
    // An opt-in made on day 10 (say, from a paper form) recorded only now: it sorts before the expiry, which named the
    // first.
    await recordOptIn(ctx, business.id, {
      person,
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
      occurredAt: t0 + 10 * DAY,
    });
    assert.equal((await decideSend(ctx, business.id, { person, topic: 'delivery' })).outcome, 'allow');
    ctx.clock.advance(10 * DAY);
    assert.equal(
      (await expireConsents(ctx, { businessId: business.id })).lapsed,
      1,
      'it lapses in its own time (day 40)',
    );
    assert.equal(
      (await decideSend(ctx, business.id, { person, topic: 'delivery' })).reasons[0]?.code,
      'CONSENT_EXPIRED',
    );
  });
});
