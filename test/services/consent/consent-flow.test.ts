import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence, webOptIn } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { erasePerson } from '../../../src/services/consent/erase-person.js';
import { verifyChains } from '../../../src/services/consent/person-history.js';
import { exportProof } from '../../../src/services/consent/export-proof.js';
import { createTopic } from '../../../src/services/admin/manage-topics.js';
import { AppError } from '../../../src/domain/errors.js';

const PHONE = '+447911123456';

forEachDialect('consent flow', (db) => {
  it('opt-in allows a send; STOP refuses it and cancels what was queued', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const optIn = await recordOptIn(ctx, business.id, {
      person: { phone: '+44 7911 123456' },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 'test',
    });
    assert.deepEqual(optIn.changed, [{ topic: 'delivery', status: 'opted_in' }]);
    assert.ok(optIn.confirmationMessageId, 'a confirmation is queued with the opt-in');

    const d1 = await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' });
    assert.equal(d1.outcome, 'allow');
    const d2 = await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'billing' });
    assert.deepEqual(
      d2.reasons.map((r) => r.code),
      ['NO_CONSENT'],
    );

    const q = await queueMessage(ctx, business.id, {
      person: { phone: PHONE },
      topic: 'delivery',
      template: { name: 'order_update', language: 'en' },
    });
    assert.equal(q.outcome, 'queued');

    ctx.clock.advance(1000);
    const out = await recordOptOut(ctx, business.id, {
      person: { phone: PHONE },
      scope: 'all',
      channel: 'whatsapp',
      action: 'sent_keyword',
      evidence: { messageId: 'wamid.1', text: 'STOP' },
      actor: 'test',
    });
    assert.equal(out.cancelledMessages, 2, 'the notification and the confirmation are cancelled');
    const d3 = await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' });
    assert.equal(d3.outcome, 'refuse');
    assert.deepEqual(
      d3.reasons.map((r) => r.code),
      ['OPTED_OUT'],
    );
    assert.deepEqual(d3.reasons[0]!.eventIds, [out.event.id]);
  });

  it('a late older opt-in never overrides a newer opt-out; ties go to opt-out', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const t0 = ctx.clock.now();
    await recordOptOut(ctx, business.id, {
      person: { phone: PHONE },
      scope: 'all',
      channel: 'sms',
      action: 'sent_keyword',
      evidence: { messageId: 'SM1' },
      actor: 't',
      occurredAt: t0,
    });
    await recordOptIn(ctx, business.id, {
      person: { phone: PHONE },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
      occurredAt: t0 - 60_000,
    });
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' })).reasons[0]?.code,
      'OPTED_OUT',
    );
    await recordOptIn(ctx, business.id, {
      person: { phone: PHONE },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
      occurredAt: t0,
    });
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' })).reasons[0]?.code,
      'OPTED_OUT',
      'tie: opt-out wins',
    );
    // A topic created after the STOP does not take an opt-in made before the STOP either.
    await createTopic(ctx, business.id, { key: 'returns', name: 'returns', category: 'utility' });
    ctx.clock.advance(5000);
    const later = await webOptIn(ctx, business.id, text.hash, { phone: PHONE });
    assert.deepEqual(
      later.changed,
      [{ topic: 'delivery', status: 'opted_in' }],
      'a new active opt-in after the STOP counts',
    );
  });

  it('refuses an opt-in without an active action, without evidence, or for marketing', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    await createTopic(ctx, business.id, { key: 'promos', name: 'promotions', category: 'marketing' });
    const base = {
      person: { phone: PHONE },
      topics: ['delivery'],
      channel: 'web' as const,
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
    };
    await assert.rejects(
      recordOptIn(ctx, business.id, { ...base, action: 'sent_message' }),
      (e: AppError) => e.code === 'NO_USER_ACTION',
    );
    await assert.rejects(
      recordOptIn(ctx, business.id, { ...base, evidence: { ip: '1.2.3.4' } }),
      (e: AppError) => e.code === 'MISSING_EVIDENCE' && e.problems[0]!.field === 'evidence.userAgent',
    );
    await assert.rejects(
      recordOptIn(ctx, business.id, { ...base, topics: ['promos'] }),
      (e: AppError) => e.code === 'CATEGORY_NOT_ALLOWED',
    );
    await assert.rejects(
      recordOptIn(ctx, business.id, { ...base, person: { phone: '12345' } }),
      (e: AppError) => e.code === 'INVALID_PHONE',
    );
    await assert.rejects(
      recordOptIn(ctx, business.id, { ...base, topics: ['nope'] }),
      (e: AppError) => e.code === 'UNKNOWN_TOPIC',
    );
    const count = await db()
      .db.selectFrom('consent_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0, 'nothing was written');
  });

  it('erasure keeps the person suppressed, blocks re-import, and the chain still verifies', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const r = await webOptIn(ctx, business.id, text.hash, { phone: PHONE });
    await erasePerson(ctx, business.id, r.personId, { actor: 't' });
    const d = await decideSend(ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' });
    assert.deepEqual(
      d.reasons.map((x) => x.code),
      ['CONTACT_ERASED'],
    );
    await assert.rejects(
      recordOptIn(ctx, business.id, {
        person: { phone: PHONE },
        topics: ['delivery'],
        channel: 'import',
        action: 'checked_box',
        textHash: text.hash,
        evidence: { file: 'a.csv', row: 2 },
        actor: 't',
      }),
      (e: AppError) => e.code === 'CONTACT_ERASED',
    );
    const proof = await exportProof(ctx, business.id, r.personId);
    assert.equal(proof.person.phone, null);
    assert.equal(proof.events[0]!.evidence, null);
    assert.equal(proof.chain.ok, true);
  });

  it('verification names an altered and a deleted event', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const a = await webOptIn(ctx, business.id, text.hash, { phone: PHONE });
    ctx.clock.advance(1000);
    const b = await recordOptOut(ctx, business.id, {
      person: { phone: PHONE },
      scope: 'all',
      channel: 'web',
      action: 'clicked_link',
      evidence: {},
      actor: 't',
    });
    ctx.clock.advance(1000);
    await webOptIn(ctx, business.id, text.hash, { phone: PHONE }, ['billing']);
    assert.equal((await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: business.id })).ok, true);
    await db().db.updateTable('consent_events').set({ channel: 'api' }).where('id', '=', a.event.id).execute();
    const v1 = await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: business.id });
    assert.equal(v1.ok, false);
    assert.ok(v1.problems.some((p) => p.eventId === a.event.id && /altered/.test(p.problem)));
    await db().db.deleteFrom('consent_events').where('id', '=', b.event.id).execute();
    const v2 = await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: business.id });
    assert.ok(v2.problems.some((p) => /deleted/.test(p.problem)));
  });
  it('concurrent opt-ins of one person append to one unbroken chain; a repeated sourceRef is written once', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    // On a PostgreSQL server these race for real: the optimistic writes that lose take the locking path.
    const optIn = (i: number, sourceRef?: string) =>
      recordOptIn(ctx, business.id, {
        person: { phone: PHONE },
        topics: [i % 2 ? 'billing' : 'delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.hash,
        evidence: webEvidence,
        actor: 't',
        occurredAt: ctx.clock.now() - i,
        sourceRef,
      });
    const first = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => optIn(i)));
    assert.equal(new Set(first.map((r) => r.personId)).size, 1, 'one person, created once');
    assert.deepEqual(first.map((r) => r.event.seq).sort(), [1, 2, 3, 4, 5, 6]);
    const again = await Promise.all([6, 7, 8].map((i) => optIn(i, 'form-42')));
    assert.equal(again.filter((r) => !r.duplicate).length, 1);
    assert.equal(new Set(again.map((r) => r.event.id)).size, 1);
    const v = await verifyChains(db().db, testContext(db()).keyring.ledger, { businessId: business.id });
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.events, 7);
  });
});
