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
import { registerText } from '../../../src/services/admin/manage-texts.js';
import { archiveTopic, createTopic } from '../../../src/services/admin/manage-topics.js';

const ORIGIN = { origin: PUBLIC_URL };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

forEachDialect('hosted opt-in page', (db) => {
  let t: CaptureApp;
  before(async () => {
    t = await buildCaptureApp(db(), { pagePostsPerPhone: 3 });
  });
  after(async () => {
    await t.close();
  });

  const open = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
  const submit = (
    slug: string,
    page: Awaited<ReturnType<typeof open>>,
    fields: Record<string, string | string[] | undefined>,
    opts: { query?: string; headers?: Record<string, string>; ip?: string } = {},
  ) => {
    const st = formState(page);
    return t.app.inject({
      method: 'POST',
      url: `/p/${slug}/opt-in${opts.query ?? '?lang=en'}`,
      remoteAddress: opts.ip ?? '198.51.100.7',
      headers: { ...FORM, ...ORIGIN, cookie: st.cookie, 'user-agent': 'TestBrowser/1.0', ...opts.headers },
      payload: form({ formToken: st.formToken, ...fields }),
    });
  };

  it('renders the registered text in the page language, boxes unchecked, labels tied to inputs, strict headers', async () => {
    const { business } = await seedCaptureBusiness(t.ctx, { name: 'Tienda Sol' });
    await registerText(t.ctx, business.id, {
      name: 'default',
      language: 'es',
      topicKeys: ['delivery', 'billing'],
      body: 'Sí, quiero recibir delivery updates y billing alerts de Tienda Sol por WhatsApp. Responde STOP para darte de baja.',
    });
    const r = await open(`/p/${business.slug}/opt-in?topics=delivery,billing&lang=es`);
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /<html lang="es">/);
    assert.match(r.body, /<blockquote id="consent-text" lang="es">Sí, quiero recibir delivery updates/);
    assert.match(r.body, /Recibe mensajes de Tienda Sol por WhatsApp/);
    for (const k of ['delivery', 'billing']) {
      assert.match(
        r.body,
        new RegExp(`<input type="checkbox" id="topic-${k}" name="topics" value="${k}">`),
        `${k} unchecked`,
      );
      assert.match(r.body, new RegExp(`<label for="topic-${k}">`));
    }
    assert.match(r.body, /<label for="phone">/);
    assert.match(r.body, /<label for="country">/);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.match(String(r.headers['set-cookie']), /optline_csrf=.*HttpOnly.*SameSite=Lax/);

    const en = await open(`/p/${business.slug}/opt-in`, { 'accept-language': 'pt-BR,pt;q=0.9' });
    assert.match(en.body, /<html lang="pt">/, 'Accept-Language picks Portuguese chrome');
    assert.match(en.body, /<blockquote id="consent-text" lang="en">/, 'no Portuguese text: the English one is shown');
    assert.match(en.body, /<option value="BR" selected>/, 'country from Accept-Language region');
  });

  it('embed mode may be framed by any site; the widget script inserts that frame', async () => {
    const { business } = await seedCaptureBusiness(t.ctx);
    const r = await open(`/p/${business.slug}/opt-in?embed=1`);
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors \*/);
    assert.equal(r.headers['x-frame-options'], undefined);
    assert.equal(r.headers['set-cookie'], undefined, 'no cookie a third-party frame could not keep');
    assert.match(r.body, /<body class="embed">/);
    const w = await open(`/p/${business.slug}/widget.js`);
    assert.equal(w.statusCode, 200);
    assert.match(String(w.headers['content-type']), /javascript/);
    assert.ok(w.body.includes(`'${PUBLIC_URL}/p/${business.slug}/opt-in?'`));
    assert.ok(w.body.includes("embed: '1'"));
  });

  it('with no box checked nothing is recorded and the page says why', async () => {
    const { business } = await seedCaptureBusiness(t.ctx);
    const page = await open(`/p/${business.slug}/opt-in`);
    const r = await submit(business.slug, page, { phone: '+44 7911 123456', country: 'GB' });
    assert.equal(r.statusCode, 422);
    assert.match(r.body, /class="error-summary" role="alert"/);
    assert.match(r.body, /<a href="#topic-billing">Tick at least one type of message. Nothing was recorded.<\/a>/);
    assert.match(r.body, /value="\+44 7911 123456"/, 'what the person typed is kept');
    assert.equal(await countRows(db(), 'consent_events', business.id), 0);
    assert.equal(await countRows(db(), 'ownership_requests', business.id), 0);

    const bad = await submit(business.slug, page, { topics: 'delivery', phone: '12', country: 'GB' });
    assert.equal(bad.statusCode, 422);
    assert.match(bad.body, /<a href="#phone">Enter a valid phone number/);
    assert.match(bad.body, /aria-invalid="true"/);
    assert.match(
      bad.body,
      /<input type="checkbox" id="topic-delivery" name="topics" value="delivery" checked>/,
      'ticked box stays ticked',
    );
  });

  it('by default the opt-in waits for the WhatsApp ownership check: a click-to-chat link with a code', async () => {
    const { business } = await seedCaptureBusiness(t.ctx);
    const page = await open(`/p/${business.slug}/opt-in?topics=delivery`);
    const r = await submit(business.slug, page, { topics: 'delivery', phone: '07911 123456', country: 'GB' });
    assert.equal(r.statusCode, 200);
    const link = /href="(https:\/\/wa\.me\/15550100999\?text=[^"]+)"/.exec(r.body);
    assert.ok(link, r.body);
    assert.match(decodeURIComponent(link[1]!.replace(/&amp;/g, '&')), /My code: OL-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    assert.equal(
      await countRows(db(), 'consent_events', business.id),
      0,
      'not recorded before the person proves the number',
    );
    const req = await db()
      .db.selectFrom('ownership_requests')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.equal(req.phone_e164, '+447911123456');
    assert.deepEqual(JSON.parse(req.topic_keys), ['delivery']);
    const ev = JSON.parse(req.evidence);
    assert.equal(ev.ip, '198.51.100.7');
    assert.equal(ev.userAgent, 'TestBrowser/1.0');
    assert.equal(ev.pageUrl, `${PUBLIC_URL}/p/${business.slug}/opt-in?topics=delivery`);
    assert.deepEqual(ev.topicsChecked, ['delivery']);
  });

  it('with the check turned off, a ticked box records the opt-in at once with its evidence', async () => {
    const { business, text } = await seedCaptureBusiness(t.ctx, { ownershipCheck: false });
    const page = await open(`/p/${business.slug}/opt-in?topics=delivery,billing&lang=en`);
    const r = await submit(business.slug, page, { topics: 'billing', phone: '+14155552671', country: 'US' });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /You are subscribed/);
    assert.match(r.body, /billing alerts/);
    const e = await db()
      .db.selectFrom('consent_events')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.equal(e.channel, 'web');
    assert.equal(e.action, 'checked_box');
    assert.equal(e.text_hash, text.hash);
    assert.deepEqual(JSON.parse(e.topic_keys), ['billing']);
    const ev = JSON.parse(
      (
        await db()
          .db.selectFrom('consent_evidence')
          .select('evidence')
          .where('event_id', '=', e.id)
          .executeTakeFirstOrThrow()
      ).evidence,
    );
    assert.equal(ev.ip, '198.51.100.7');
    assert.equal(ev.userAgent, 'TestBrowser/1.0');
    assert.deepEqual(ev.topicsChecked, ['billing']);
    assert.deepEqual(ev.topicsOffered, ['billing', 'delivery']);
    assert.equal(typeof ev.submittedAt, 'number');
    const msg = await db()
      .db.selectFrom('messages')
      .selectAll()
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    assert.equal(msg.kind, 'confirmation');
  });

  it('refuses a form without its cookie, from another site, or with a forged token; nothing recorded', async () => {
    const { business } = await seedCaptureBusiness(t.ctx, { ownershipCheck: false });
    const page = await open(`/p/${business.slug}/opt-in`);
    const st = formState(page);
    let n = 0;
    const post = (headers: Record<string, string>, token = st.formToken) =>
      t.app.inject({
        method: 'POST',
        url: `/p/${business.slug}/opt-in?lang=en`,
        headers: { ...FORM, ...headers },
        payload: form({ formToken: token, topics: 'delivery', phone: `+1415555267${n++}` }),
      });
    const noCookie = await post(ORIGIN);
    assert.equal(noCookie.statusCode, 400);
    assert.match(noCookie.body, /This form was open too long or was not sent from this page/);
    const crossSite = await post({ ...ORIGIN, cookie: st.cookie, origin: 'https://evil.example' });
    assert.equal(crossSite.statusCode, 403);
    assert.match(crossSite.body, /This form cannot be sent from here/);
    const fetchMeta = await post({ cookie: st.cookie, 'sec-fetch-site': 'cross-site' });
    assert.equal(fetchMeta.statusCode, 403);
    const forged = await post(
      { ...ORIGIN, cookie: st.cookie },
      st.formToken.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
    );
    assert.equal(forged.statusCode, 400);
    t.ctx.clock.advance(3 * 3_600_000);
    const stale = await post({ ...ORIGIN, cookie: st.cookie });
    assert.equal(stale.statusCode, 400, 'a form older than two hours');
    assert.equal(await countRows(db(), 'consent_events', business.id), 0);
  });

  it('limits submissions per phone number', async () => {
    const { business } = await seedCaptureBusiness(t.ctx);
    const page = await open(`/p/${business.slug}/opt-in`);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++)
      codes.push(
        (
          await submit(
            business.slug,
            page,
            { topics: 'delivery', phone: '+14155550123', country: 'US' },
            { ip: `192.0.2.${i + 1}` },
          )
        ).statusCode,
      );
    assert.deepEqual(codes, [200, 200, 200, 429]);
    const last = await submit(
      business.slug,
      page,
      { topics: 'delivery', phone: '+14155550123', country: 'US' },
      { ip: '192.0.2.99' },
    );
    assert.match(last.body, /Too many attempts/);
    assert.match(String(last.headers['content-type']), /text\/html/);
  });

  it('a topic archived while the form was open: a plain refusal page, nothing recorded', async () => {
    const { business } = await seedCaptureBusiness(t.ctx, { ownershipCheck: false });
    const page = await open(`/p/${business.slug}/opt-in`);
    await archiveTopic(t.ctx, business.id, 'delivery');
    const r = await submit(business.slug, page, { topics: 'delivery', phone: '+14155552690', country: 'US' });
    assert.equal(r.statusCode, 422);
    assert.match(String(r.headers['content-type']), /text\/html/);
    assert.match(r.body, /This could not be completed/);
    assert.equal(await countRows(db(), 'consent_events', business.id), 0);
  });

  it('unknown business, a topic without a text, and a bad query are pages, not stack traces', async () => {
    const { business } = await seedCaptureBusiness(t.ctx);
    await createTopic(t.ctx, business.id, { key: 'returns', name: 'return updates', category: 'utility' });
    const none = await open('/p/no-such-shop/opt-in?lang=es');
    assert.equal(none.statusCode, 404);
    assert.match(none.body, /Esta página no está disponible/);
    const noText = await open(`/p/${business.slug}/opt-in?topics=returns`);
    assert.equal(noText.statusCode, 404);
    assert.match(noText.body, /has not published a sign-up text/);
    const bad = await open(`/p/${business.slug}/opt-in?embed=yes`);
    assert.equal(bad.statusCode, 400);
    assert.match(String(bad.headers['content-type']), /text\/html/);
    assert.doesNotMatch(bad.body, /at .*\.ts:\d+/);
  });
});
