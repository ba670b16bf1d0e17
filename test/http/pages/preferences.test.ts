import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import {
  buildCaptureApp,
  form,
  formState,
  PUBLIC_URL,
  seedCaptureBusiness,
  type CaptureApp,
} from '../../helpers/capture.js';
import { webEvidence } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';
import { preferenceLink } from '../../../src/services/consent/preference-links.js';

const PHONE = '+14155554001';

forEachDialect('preference page', (db) => {
  let t: CaptureApp;
  before(async () => {
    t = await buildCaptureApp(db());
  });
  after(async () => {
    await t.close();
  });

  async function subscribed() {
    const seed = await seedCaptureBusiness(t.ctx);
    const r = await recordOptIn(t.ctx, seed.business.id, {
      person: { phone: PHONE },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: seed.text.hash,
      evidence: webEvidence,
      actor: 't',
    });
    const link = preferenceLink(t.ctx, seed.business.id, r.personId, { publicUrl: PUBLIC_URL });
    return { ...seed, personId: r.personId, link };
  }
  const save = (
    path: string,
    page: Awaited<ReturnType<typeof t.app.inject>>,
    fields: Record<string, string | string[]>,
  ) => {
    const st = formState(page);
    return t.app.inject({
      method: 'POST',
      url: `${path}?lang=en`,
      remoteAddress: '198.51.100.20',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: PUBLIC_URL,
        cookie: st.cookie,
        'user-agent': 'PrefsBrowser/2',
      },
      payload: form({ formToken: st.formToken, ...fields }),
    });
  };

  it('shows every topic with its state; the helper makes links under the public URL', async () => {
    const { link } = await subscribed();
    assert.ok(link.url.startsWith(`${PUBLIC_URL}/p/prefs/`));
    assert.equal(link.url, `${PUBLIC_URL}${link.path}`);
    const page = await t.app.inject({ method: 'GET', url: link.path });
    assert.equal(page.statusCode, 200);
    assert.match(
      page.body,
      /<input type="checkbox" id="topic-delivery" name="topics" value="delivery" checked aria-describedby="topic-delivery-state">/,
    );
    assert.match(
      page.body,
      /<input type="checkbox" id="topic-billing" name="topics" value="billing" aria-describedby="topic-billing-state">/,
    );
    assert.match(page.body, /<span class="state on">On<\/span>/);
    assert.match(page.body, /<span class="state off">Off<\/span>/);
    assert.match(page.body, /Stop all WhatsApp messages from/);
    assert.equal(page.headers['referrer-policy'], 'same-origin');
  });

  it('changing topics records one event per change, with ip, user agent and the link id', async () => {
    const { business, personId, link, text } = await subscribed();
    const page = await t.app.inject({ method: 'GET', url: link.path });
    t.ctx.clock.advance(1000);
    const r = await save(link.path, page, { topics: 'billing', action: 'save' });
    assert.equal(r.statusCode, 303);
    assert.match(String(r.headers.location), /done=saved/);
    const events = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .where('person_id', '=', personId)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      events.map((e) => [e.type, e.scope, e.topic_keys, e.action]),
      [
        ['opt_in', 'topics', '["delivery"]', 'checked_box'],
        ['opt_in', 'topics', '["billing"]', 'checked_box'],
        ['opt_out', 'topics', '["delivery"]', 'toggled_setting'],
      ],
    );
    assert.equal(events[1]!.text_hash, text.hash, 'turning a topic on keeps the text shown');
    for (const e of events.slice(1)) {
      const ev = JSON.parse(
        (
          await db()
            .db.selectFrom('consent_evidence')
            .select('evidence')
            .where('event_id', '=', e.id)
            .executeTakeFirstOrThrow()
        ).evidence,
      );
      assert.equal(ev.ip, '198.51.100.20');
      assert.equal(ev.userAgent, 'PrefsBrowser/2');
      assert.equal(ev.tokenId, link.tokenId);
    }
    assert.equal(
      (await decideSend(t.ctx, business.id, { person: { phone: PHONE }, topic: 'delivery' })).reasons[0]?.code,
      'OPTED_OUT',
    );
    assert.equal(
      (await decideSend(t.ctx, business.id, { person: { phone: PHONE }, topic: 'billing' })).outcome,
      'allow',
    );
    const after = await t.app.inject({ method: 'GET', url: String(r.headers.location) });
    assert.match(after.body, /Your choices are saved\./);
  });

  it('"stop everything" is one click: every topic off, queued messages cancelled', async () => {
    const { business, link } = await subscribed();
    const page = await t.app.inject({ method: 'GET', url: link.path });
    t.ctx.clock.advance(1000);
    const r = await save(link.path, page, { topics: 'delivery', action: 'stop_all' });
    assert.match(String(r.headers.location), /done=stopped/);
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .where('type', '=', 'opt_out')
      .executeTakeFirstOrThrow();
    assert.deepEqual([e.scope, e.channel, e.action], ['all', 'web', 'clicked_link']);
    const msgs = await db().db.selectFrom('messages').select('status').where('business_id', '=', business.id).execute();
    assert.deepEqual(
      msgs.map((m) => m.status),
      ['cancelled'],
    );
  });

  it('a tampered link, or one past its expiry, changes nothing and says why', async () => {
    const { business, link } = await subscribed();
    const page = await t.app.inject({ method: 'GET', url: link.path });
    const tampered = await t.app.inject({
      method: 'GET',
      url: link.path.replace(/\.(.)/, (_m, c: string) => `.${c === 'a' ? 'b' : 'a'}`),
    });
    assert.equal(tampered.statusCode, 400);
    assert.match(tampered.body, /This link is not valid/);
    const inTime = await save(link.path, page, { action: 'stop_all' });
    assert.equal(inTime.statusCode, 303, 'within its lifetime the link works');
    t.ctx.clock.advance(31 * 24 * 3_600_000);
    const old = await t.app.inject({ method: 'GET', url: link.path });
    assert.equal(old.statusCode, 410);
    assert.match(old.body, /This link has expired/);
    const replay = await save(link.path, page, { action: 'stop_all' });
    assert.equal(replay.statusCode, 410, 'a forwarded link cannot be replayed after expiry');
    const events = await db()
      .db.selectFrom('consent_events')
      .select('type')
      .where('business_id', '=', business.id)
      .execute();
    assert.deepEqual(
      events.map((e) => e.type),
      ['opt_in', 'opt_out'],
      'only the in-time stop counted',
    );
  });

  it('refuses a post from another site', async () => {
    const { business, link } = await subscribed();
    const page = await t.app.inject({ method: 'GET', url: link.path });
    const st = formState(page);
    const r = await t.app.inject({
      method: 'POST',
      url: link.path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
        cookie: st.cookie,
      },
      payload: form({ formToken: st.formToken, action: 'stop_all' }),
    });
    assert.equal(r.statusCode, 403);
    const events = await db()
      .db.selectFrom('consent_events')
      .select('type')
      .where('business_id', '=', business.id)
      .execute();
    assert.deepEqual(
      events.map((e) => e.type),
      ['opt_in'],
    );
  });
});
