import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import {
  buildCaptureApp,
  countRows,
  form,
  formState,
  PUBLIC_URL,
  seedCaptureBusiness,
  type CaptureApp,
} from '../../helpers/capture.js';
import { startSmtpSink, type SmtpSink } from '../../fakes/smtp-sink.js';
import { decideSend } from '../../../src/services/dispatch/decide-send.js';

const HTML = /text\/html/;

forEachDialect('email invitations', (db) => {
  let t: CaptureApp;
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
    t = await buildCaptureApp(db(), { smtp: { url: sink.url, from: 'Optline <no-reply@optline.example>' } });
  });
  after(async () => {
    await t.close();
    await sink.close();
  });

  const invite = (key: string, body: object) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/email/invitations',
      headers: { authorization: `Bearer ${key}` },
      payload: body,
    });
  async function sendInvite(body: Record<string, unknown> = {}, seedOpts: { ownershipCheck?: boolean } = {}) {
    const seed = await seedCaptureBusiness(t.ctx, seedOpts);
    const before = sink.messages.length;
    const r = await invite(seed.apiKey, {
      email: 'ana@example.com',
      topics: ['delivery', 'billing'],
      textHash: seed.text.hash,
      ...body,
    });
    assert.equal(r.statusCode, 201, r.body);
    await sink.waitFor(before + 1);
    const mail = sink.messages.at(-1)!;
    const link = /(https:\/\/optline\.example\/p\/[a-z0-9-]+\/opt-in\?inv=[A-Za-z0-9_.-]+)/.exec(mail.text)![1]!;
    const unsub = /(https:\/\/optline\.example\/p\/unsubscribe\/[A-Za-z0-9_.-]+)/.exec(mail.text)![1]!;
    return { ...seed, mail, link, unsub, path: link.slice(PUBLIC_URL.length) };
  }

  it('sends the program details, a single-use link and RFC 8058 one-click unsubscribe headers', async () => {
    const { mail, text, unsub } = await sendInvite();
    assert.deepEqual(mail.to, ['ana@example.com']);
    assert.match(mail.subject, /get delivery updates and billing alerts on WhatsApp/);
    assert.ok(mail.text.includes(text.body), 'the registered text, word for word');
    assert.match(mail.text, /the link works once, until/);
    assert.equal(mail.headers['list-unsubscribe'], `<${unsub}>`);
    assert.equal(mail.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click');
    assert.match(mail.raw, /text\/html/);
  });

  it('the link opens the page pre-filled, works once, then says it expired', async () => {
    const { business, path } = await sendInvite({ person: { phone: '+447400123123' } });
    const page = await t.app.inject({ method: 'GET', url: path });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /value="\+447400123123"/);
    assert.match(page.body, /<option value="GB" selected>/);
    const st = formState(page);
    const inv = new URL(`${PUBLIC_URL}${path}`).searchParams.get('inv')!;
    const post = await t.app.inject({
      method: 'POST',
      url: `/p/${business.slug}/opt-in?lang=en`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL, cookie: st.cookie },
      payload: form({ formToken: st.formToken, inv, topics: 'delivery', phone: '+447400123123', country: 'GB' }),
    });
    assert.equal(post.statusCode, 200);
    assert.match(
      post.body,
      /confirm on WhatsApp/,
      'an email proves the address, not the number: the ownership check runs',
    );
    const req = await db()
      .db.selectFrom('ownership_requests')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.equal(req.channel, 'email');
    assert.ok(JSON.parse(req.evidence).tokenId);

    const again = await t.app.inject({ method: 'GET', url: path });
    assert.equal(again.statusCode, 410);
    assert.match(String(again.headers['content-type']), HTML);
    assert.match(again.body, /This link has expired/);
    const replay = await t.app.inject({
      method: 'POST',
      url: `/p/${business.slug}/opt-in?lang=en`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL, cookie: st.cookie },
      payload: form({ formToken: st.formToken, inv, topics: 'delivery', phone: '+447400123123', country: 'GB' }),
    });
    assert.equal(replay.statusCode, 410);
    assert.equal(await countRows(db(), 'ownership_requests', business.id), 1);
  });

  it('with the ownership check off, the email link records an opt-in on the email channel with its token id', async () => {
    const { business, path } = await sendInvite({}, { ownershipCheck: false });
    const page = await t.app.inject({ method: 'GET', url: path });
    const st = formState(page);
    const inv = new URL(`${PUBLIC_URL}${path}`).searchParams.get('inv')!;
    const post = await t.app.inject({
      method: 'POST',
      url: `/p/${business.slug}/opt-in?lang=en`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL, cookie: st.cookie },
      payload: form({
        formToken: st.formToken,
        inv,
        topics: ['delivery', 'billing'],
        phone: '+447400123124',
        country: 'GB',
      }),
    });
    assert.equal(post.statusCode, 200);
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([e.channel, e.action], ['email', 'checked_box']);
    const ev = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', e.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.ok(ev.tokenId && ev.invitationId && ev.ip && ev.userAgent !== undefined);
  });

  it('a tampered or expired link is a clear page, never a stack trace', async () => {
    const { path } = await sendInvite();
    const tampered = await t.app.inject({
      method: 'GET',
      url: path.replace(/inv=(.)/, (_m, c: string) => `inv=${c === 'e' ? 'f' : 'e'}`),
    });
    assert.equal(tampered.statusCode, 400);
    assert.match(String(tampered.headers['content-type']), HTML);
    assert.match(tampered.body, /This link is not valid/);
    assert.doesNotMatch(tampered.body, /Error|at .*\.ts/);
    const garbage = await t.app.inject({ method: 'GET', url: path.replace(/inv=.*/, 'inv=%00%ff<script>') });
    assert.equal(garbage.statusCode, 400);
    assert.match(garbage.body, /This link is not valid/);
    t.ctx.clock.advance(8 * 24 * 3_600_000);
    const old = await t.app.inject({ method: 'GET', url: path });
    assert.equal(old.statusCode, 410);
    assert.match(old.body, /This link has expired/);
  });

  it('GET on the unsubscribe link only asks; the one-click POST opts out and stops further invitations', async () => {
    const { business, apiKey, text, unsub } = await sendInvite({ person: { phone: '+447400123125' } });
    const path = unsub.slice(PUBLIC_URL.length);
    const scanner = await t.app.inject({ method: 'GET', url: path });
    assert.equal(scanner.statusCode, 200);
    assert.match(scanner.body, /<button type="submit" class="danger">Unsubscribe<\/button>/);
    assert.equal(await countRows(db(), 'consent_events', business.id), 0, 'a prefetch changes nothing');

    const oneClick = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    assert.equal(oneClick.statusCode, 200);
    assert.match(oneClick.body, /You are unsubscribed/);
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual([e.type, e.scope, e.channel, e.action], ['opt_out', 'all', 'email', 'clicked_link']);
    assert.equal(
      (await decideSend(t.ctx, business.id, { person: { phone: '+447400123125' }, topic: 'delivery' })).reasons[0]
        ?.code,
      'OPTED_OUT',
    );
    const next = await invite(apiKey, { email: 'ANA@example.com', topics: ['delivery'], textHash: text.hash });
    assert.equal(next.statusCode, 409);
    assert.equal(next.json().code, 'RECIPIENT_OPTED_OUT');
    const bad = await t.app.inject({
      method: 'POST',
      url: `${path}x`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    assert.equal(bad.statusCode, 400);
  });

  it('without any SMTP server the API says so', async () => {
    const noSmtp = await buildCaptureApp(db());
    try {
      const seed = await seedCaptureBusiness(noSmtp.ctx);
      const r = await noSmtp.app.inject({
        method: 'POST',
        url: '/v1/email/invitations',
        headers: { authorization: `Bearer ${seed.apiKey}` },
        payload: { email: 'a@example.com', topics: ['delivery'], textHash: seed.text.hash },
      });
      assert.equal(r.json().code, 'CHANNEL_NOT_CONFIGURED');
    } finally {
      await noSmtp.close();
    }
  });
});
