import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { seedBusiness } from '../helpers/seed.js';
import { runHousekeeping } from '../../src/worker/housekeeping.js';
import { hitRateLimit } from '../../src/storage/shared/rate-limit-store.js';

const DAY = 86_400_000;

forEachDialect('housekeeping', (db) => {
  it('deletes old processed webhook items, spent link ids, expired ownership checks and invitations, rate-limit counters past their window; keeps the rest', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const bid = business.id;
    const now = ctx.clock.now();
    const inbox = (id: string, receivedAgo: number, processed: boolean) => ({
      business_id: bid,
      id,
      provider: 'whatsapp',
      dedupe_key: `wa:${id}`,
      kind: 'message',
      payload: '{}',
      received_at: now - receivedAgo,
      processed_at: processed ? now - receivedAgo : null,
      outcome: processed ? 'done' : null,
      attempts: 0,
    });
    await db()
      .db.insertInto('inbox')
      .values([
        inbox('inb_old', 31 * DAY, true),
        inbox('inb_recent', 29 * DAY, true),
        inbox('inb_old_unprocessed', 40 * DAY, false),
      ])
      .execute();
    await db()
      .db.insertInto('used_tokens')
      .values([
        { business_id: bid, token_id: 'spent-expired', used_at: now - 2 * DAY, expires_at: now - DAY },
        { business_id: bid, token_id: 'spent-valid', used_at: now - DAY, expires_at: now + DAY },
      ])
      .execute();
    const request = (id: string, expiresAt: number) => ({
      business_id: bid,
      id,
      code_hash: `h-${id}`,
      phone_e164: '+447700900123',
      topic_keys: '["delivery"]',
      text_hash: 'x',
      language: 'en',
      channel: 'web',
      evidence: '{}',
      status: 'pending',
      created_at: expiresAt - DAY,
      expires_at: expiresAt,
      redeemed_at: null,
      event_id: null,
    });
    await db()
      .db.insertInto('ownership_requests')
      .values([request('own_old', now - 2 * DAY), request('own_fresh', now - DAY / 2)])
      .execute();
    const invitation = (id: string, expiresAt: number) => ({
      business_id: bid,
      id,
      channel: 'sms',
      mode: 'keyword',
      phone_e164: '+447700900123',
      email_hash: null,
      person_id: null,
      topic_keys: '["delivery"]',
      text_hash: 'x',
      language: 'en',
      message_body: 'hi',
      token_id: `t-${id}`,
      provider_message_id: null,
      created_at: expiresAt - DAY,
      expires_at: expiresAt,
      used_at: null,
    });
    await db()
      .db.insertInto('invitations')
      .values([invitation('inv_old', now - 31 * DAY), invitation('inv_recent', now - 5 * DAY)])
      .execute();

    await hitRateLimit(db().db, 'optin-ip:203.0.113.9', 60_000, now - 61_000);
    await hitRateLimit(db().db, 'optin-ip:203.0.113.9', 600_000, now);
    assert.deepEqual(await runHousekeeping(ctx, { inboxRetentionDays: 30 }), {
      inbox: 1,
      usedTokens: 1,
      ownershipRequests: 1,
      invitations: 1,
      rateLimits: 1,
    });
    const ids = async (table: 'inbox' | 'ownership_requests' | 'invitations') =>
      (await db().db.selectFrom(table).select('id').where('business_id', '=', bid).orderBy('id').execute()).map(
        (r) => r.id,
      );
    assert.deepEqual(
      await ids('inbox'),
      ['inb_old_unprocessed', 'inb_recent'],
      'an item not processed yet is never deleted',
    );
    assert.deepEqual(await ids('ownership_requests'), ['own_fresh']);
    assert.deepEqual(await ids('invitations'), ['inv_recent']);
    assert.deepEqual(
      (await db().db.selectFrom('used_tokens').select('token_id').where('business_id', '=', bid).execute()).map(
        (r) => r.token_id,
      ),
      ['spent-valid'],
    );
    assert.deepEqual(
      await runHousekeeping(ctx, { inboxRetentionDays: 30 }),
      { inbox: 0, usedTokens: 0, ownershipRequests: 0, invitations: 0, rateLimits: 0 },
      'a second run finds nothing',
    );
    assert.equal(
      (await db().db.selectFrom('rate_limits').select('key_hash').execute()).length,
      1,
      'a counter in its window stays',
    );
  });
});
