import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { countRows, seedCaptureBusiness } from '../../helpers/capture.js';
import { submitWebOptIn } from '../../../src/services/capture/submit-web-opt-in.js';
import { redeemOwnershipCode, type OwnershipInbound } from '../../../src/services/capture/redeem-ownership-code.js';
import { findOwnershipCode } from '../../../src/lib/ownership-codes.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { sameWhatsAppNumber } from '../../../src/domain/chat/phone-match.js';
import type { Database } from '../../../src/storage/db.js';

const EVIDENCE = {
  ip: '203.0.113.5',
  userAgent: 'Mozilla/5.0 (Android)',
  pageUrl: 'https://optline.example/p/x/opt-in',
  formId: 'form1',
};

async function pendingOptIn(ctx: ReturnType<typeof testContext>, phone: string, opts: { doubleOptIn?: boolean } = {}) {
  const seed = await seedCaptureBusiness(ctx, opts);
  const out = await submitWebOptIn(ctx, seed.business.id, {
    textHash: seed.text.hash,
    offeredTopics: ['delivery', 'billing'],
    checkedTopics: ['delivery'],
    phone,
    country: null,
    language: 'es',
    evidence: EVIDENCE,
  });
  assert.equal(out.kind, 'ownership_check');
  if (out.kind !== 'ownership_check') throw new Error('unreachable');
  return { ...seed, code: out.code, phone: out.phone };
}

const redeem = (
  ctx: ReturnType<typeof testContext>,
  database: Database,
  businessId: string,
  inbound: OwnershipInbound,
) => database.transaction((trx) => redeemOwnershipCode(ctx, trx, businessId, inbound));

forEachDialect('redeemOwnershipCode', (db) => {
  it('returns null for a message without a code, so the chat goes on as usual', async () => {
    const ctx = testContext(db());
    const { business } = await pendingOptIn(ctx, '+447911123456');
    for (const text of ['STOP', 'hello', 'my order OL-12', 'COOL-ABCD-EFGH', '']) {
      assert.equal(
        await redeem(ctx, db(), business.id, {
          text,
          messageId: 'wamid.x',
          waId: '447911123456',
          occurredAt: ctx.clock.now(),
        }),
        null,
        text,
      );
    }
  });

  it('records the opt-in with the evidence of the form and of the WhatsApp message, once', async () => {
    const ctx = testContext(db());
    const { business, text, code } = await pendingOptIn(ctx, '+447911123456');
    ctx.clock.advance(60_000);
    const inbound = {
      text: `Sí, quiero recibir mensajes de WhatsApp de Acme. Mi código: ${code}`,
      messageId: 'wamid.OWN1',
      waId: '447911123456',
      occurredAt: ctx.clock.now() - 1000,
    };
    const r = await redeem(ctx, db(), business.id, inbound);
    assert.ok(r && r.outcome === 'recorded', JSON.stringify(r));
    assert.equal(r.duplicate, false);
    assert.ok(r.optIn?.confirmationMessageId, 'the WhatsApp confirmation is queued with the opt-in');
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('id', '=', r.eventId)
      .executeTakeFirstOrThrow();
    assert.equal(e.channel, 'web');
    assert.equal(e.action, 'checked_box');
    assert.equal(e.text_hash, text.hash);
    assert.equal(Number(e.occurred_at), inbound.occurredAt);
    const ev = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', e.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(ev.ip, EVIDENCE.ip);
    assert.equal(ev.userAgent, EVIDENCE.userAgent);
    assert.equal(ev.pageUrl, EVIDENCE.pageUrl);
    assert.deepEqual(ev.topicsChecked, ['delivery']);
    assert.equal(ev.messageId, 'wamid.OWN1');
    assert.equal(ev.whatsappSender, '+447911123456');
    assert.equal(ev.ownershipCheck, 'whatsapp_code');
    const person = await db()
      .db.selectFrom('people')
      .selectAll()
      .where('id', '=', r.optIn!.personId)
      .executeTakeFirstOrThrow();
    assert.equal(person.wa_id, '447911123456');
    assert.equal(
      (await decideSend(ctx, business.id, { person: { phone: '+447911123456' }, topic: 'delivery' })).outcome,
      'allow',
    );

    const again = await redeem(ctx, db(), business.id, inbound);
    assert.ok(again && again.outcome === 'recorded' && again.duplicate, 'a redelivered message records nothing new');
    assert.equal(await countRows(db(), 'consent_events', business.id), 1);
  });

  it('refuses a code sent from another number, an expired code, an unknown code and a sender without a number', async () => {
    const ctx = testContext(db());
    const { business, code } = await pendingOptIn(ctx, '+447911123456');
    const base = { text: `code ${code}`, messageId: 'wamid.R', occurredAt: ctx.clock.now() };
    const other = await redeem(ctx, db(), business.id, { ...base, waId: '447911999999' });
    assert.equal(other?.outcome, 'refused');
    assert.equal(other?.outcome === 'refused' && other.reason, 'phone_mismatch');
    assert.match(
      other?.outcome === 'refused' ? other.reply : '',
      /otro número/,
      'the reply is in the language of the form',
    );
    const bsuidOnly = await redeem(ctx, db(), business.id, { ...base, bsuid: 'GB.abc123' });
    assert.equal(bsuidOnly?.outcome === 'refused' && bsuidOnly.reason, 'sender_unknown');
    const unknown = await redeem(ctx, db(), business.id, { ...base, text: 'OL-2222-3333', waId: '447911123456' });
    assert.equal(unknown?.outcome === 'refused' && unknown.reason, 'unknown_code');
    ctx.clock.advance(25 * 3_600_000);
    const late = await redeem(ctx, db(), business.id, { ...base, waId: '447911123456', occurredAt: ctx.clock.now() });
    assert.equal(late?.outcome === 'refused' && late.reason, 'expired');
    assert.equal(await countRows(db(), 'consent_events', business.id), 0);
  });

  it("accepts WhatsApp's own spelling of a Brazilian number; double opt-in still applies", async () => {
    const ctx = testContext(db());
    const { business, code } = await pendingOptIn(ctx, '+55 11 98765 4321', { doubleOptIn: true });
    // wa_id of older Brazilian mobiles lacks the ninth digit.
    const r = await redeem(ctx, db(), business.id, {
      text: code.toLowerCase().replace(/-/g, ' '),
      messageId: 'wamid.BR',
      waId: '551187654321',
      occurredAt: ctx.clock.now(),
    });
    assert.ok(r && r.outcome === 'recorded', JSON.stringify(r));
    assert.deepEqual(r.optIn?.changed, [{ topic: 'delivery', status: 'pending' }]);
    const d = await decideSend(ctx, business.id, { person: { phone: '+5511987654321' }, topic: 'delivery' });
    assert.deepEqual(
      d.reasons.map((x) => x.code),
      ['CONFIRMATION_PENDING'],
    );
  });
});

it('finds codes as people send them, and only codes', () => {
  assert.equal(findOwnershipCode('My code: OL-7K3Q-9M2P'), 'OL-7K3Q-9M2P');
  assert.equal(findOwnershipCode('ol 7k3q 9m2p'), 'OL-7K3Q-9M2P');
  assert.equal(findOwnershipCode('OL7K3Q9M2P thanks'), 'OL-7K3Q-9M2P');
  assert.equal(findOwnershipCode('OL-7K3Q-9M2O'), 'OL-7K3Q-9M20', 'O typed for zero');
  assert.equal(findOwnershipCode('BOL-7K3Q-9M2P'), null);
  assert.equal(findOwnershipCode('OL-7K3Q-9M2PX'), null);
  assert.equal(findOwnershipCode('OL-UUUU-UUUU'), null);
  assert.equal(sameWhatsAppNumber('+5511987654321', '+551187654321'), true);
  assert.equal(sameWhatsAppNumber('+5215512345678', '+525512345678'), true);
  assert.equal(sameWhatsAppNumber('+447911123456', '+447911123457'), false);
});

forEachDialect('eraseCaptureData', (db) => {
  it('removes pending ownership checks and invitations of the person', async () => {
    const { eraseCaptureData } = await import('../../../src/services/capture/erase-capture-data.js');
    const ctx = testContext(db());
    const { business } = await pendingOptIn(ctx, '+447911123456');
    const out = await db().transaction((trx) =>
      eraseCaptureData(trx, business.id, { id: 'per_none', phone: '+447911123456' }),
    );
    assert.deepEqual(out, { requests: 1, invitations: 0 });
    assert.equal(await countRows(db(), 'ownership_requests', business.id), 0);
  });
});
