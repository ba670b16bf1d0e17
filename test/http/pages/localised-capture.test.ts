// Localised capture: topic names per language (topics API), opt-in texts per language checked in their language,
// the page's choice of text (its language, else the business's default language, else English), and the
// evidence of a web opt-in (the page's language and the exact text shown). Both dialects.
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
import { preferenceLink } from '../../../src/services/consent/preference-links.js';

const ES_BODY =
  'Sí, quiero recibir actualizaciones de entrega de Tienda Sol por WhatsApp. Responde BAJA para darte de baja.';

forEachDialect('localised capture', (db) => {
  let t: CaptureApp;
  before(async () => {
    t = await buildCaptureApp(db());
  });
  after(async () => {
    await t.close();
  });

  const api = (method: string, url: string, key: string, payload?: object) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload ? { payload } : {}),
    });
  const open = (url: string) => t.app.inject({ method: 'GET', url });

  async function spanishBusiness() {
    const seed = await seedCaptureBusiness(t.ctx, { name: 'Tienda Sol', ownershipCheck: false });
    const names = await api('PUT', '/v1/topics/delivery/names', seed.apiKey, {
      names: { es: 'actualizaciones de entrega', pt: 'atualizações de entrega' },
    });
    assert.equal(names.statusCode, 200, names.body);
    assert.deepEqual(names.json().names, { es: 'actualizaciones de entrega', pt: 'atualizações de entrega' });
    return seed;
  }

  it('a Spanish text is checked against the Spanish topic names; bad names are a 400 naming the field', async () => {
    const { apiKey } = await spanishBusiness();
    const english = await api('POST', '/v1/texts', apiKey, {
      name: 'es',
      language: 'es',
      topicKeys: ['delivery'],
      body: 'Sí, quiero recibir delivery updates de Tienda Sol por WhatsApp. Responde BAJA para darte de baja.',
    });
    assert.equal(english.statusCode, 201, english.body);
    assert.equal(english.json().usable, false, 'the English topic name does not name the topic in Spanish');
    assert.match(
      english.json().checks.find((c: { rule: string }) => c.rule === 'names_message_types').message,
      /actualizaciones de entrega/,
    );
    const ok = await api('POST', '/v1/texts', apiKey, {
      name: 'es',
      language: 'es',
      topicKeys: ['delivery'],
      body: ES_BODY,
    });
    assert.equal(ok.json().usable, true, ok.body);
    const bad = await api('PUT', '/v1/topics/delivery/names', apiKey, { names: { 'not a language': 'x' } });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
    assert.match(bad.body, /names/);
  });

  it('the Spanish page shows the Spanish text and names; the opt-in keeps the language and the exact text shown', async () => {
    const { business, apiKey } = await spanishBusiness();
    const es = (
      await api('POST', '/v1/texts', apiKey, { name: 'es', language: 'es', topicKeys: ['delivery'], body: ES_BODY })
    ).json();
    const page = await open(`/p/${business.slug}/opt-in?topics=delivery&lang=es`);
    assert.equal(page.statusCode, 200);
    assert.ok(
      page.body.includes(`<blockquote id="consent-text" lang="es">${ES_BODY.replace('í', '&#237;')}`) ||
        page.body.includes('lang="es">Sí, quiero'),
      page.body,
    );
    assert.match(page.body, /<label for="topic-delivery">actualizaciones de entrega<\/label>/);
    assert.doesNotMatch(
      page.body,
      /billing/,
      'the page offers only the topic asked for, and its text names only that one',
    );

    const st = formState(page);
    const r = await t.app.inject({
      method: 'POST',
      url: `/p/${business.slug}/opt-in?topics=delivery&lang=es`,
      remoteAddress: '198.51.100.7',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: PUBLIC_URL,
        cookie: st.cookie,
        'user-agent': 'TestBrowser/1.0',
      },
      payload: form({ formToken: st.formToken, topics: 'delivery', phone: '+34 612 345 678', country: 'ES' }),
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.match(r.body, /actualizaciones de entrega/);
    const ev = await db()
      .db.selectFrom('consent_events')
      .innerJoin('consent_evidence', (j) =>
        j
          .onRef('consent_evidence.business_id', '=', 'consent_events.business_id')
          .onRef('consent_evidence.event_id', '=', 'consent_events.id'),
      )
      .select(['consent_events.text_hash', 'consent_evidence.evidence'])
      .where('consent_events.business_id', '=', business.id)
      .where('consent_events.type', '=', 'opt_in')
      .executeTakeFirstOrThrow();
    assert.equal(ev.text_hash, es.hash, 'the event references the Spanish text, stored once by its hash');
    const evidence = JSON.parse(ev.evidence) as Record<string, unknown>;
    assert.equal(evidence.pageLanguage, 'es');
    assert.equal(evidence.textLanguage, 'es');
    assert.equal(evidence.textHash, es.hash);
    const stored = await api('GET', `/v1/texts/${es.hash}`, apiKey);
    assert.equal(stored.json().body, ES_BODY, 'the exact words shown are kept');

    // The preference page in Spanish names the topic in Spanish and shows the Spanish text.
    const person = await db()
      .db.selectFrom('people')
      .select('id')
      .where('business_id', '=', business.id)
      .executeTakeFirstOrThrow();
    const prefs = await open(`${preferenceLink(t.ctx, business.id, person.id).path}?lang=es`);
    assert.equal(prefs.statusCode, 200, prefs.body);
    assert.match(prefs.body, /<label for="topic-delivery">actualizaciones de entrega<\/label>/);
  });

  it("with no text in the page's language, the business's default language is shown before English", async () => {
    const { business, apiKey } = await spanishBusiness();
    const patch = await api('PATCH', '/v1/business', apiKey, { policy: { defaultLanguage: 'pt' } });
    assert.equal(patch.statusCode, 200, patch.body);
    const pt = await api('POST', '/v1/texts', apiKey, {
      name: 'pt',
      language: 'pt',
      topicKeys: ['delivery'],
      body: 'Sim, quero receber atualizações de entrega da Tienda Sol pelo WhatsApp. Responda SAIR para cancelar.',
    });
    assert.equal(pt.json().usable, true, pt.body);
    const page = await open(`/p/${business.slug}/opt-in?topics=delivery&lang=es`);
    assert.match(page.body, /<blockquote id="consent-text" lang="pt">/);
    const en = await open(`/p/${business.slug}/opt-in?topics=delivery,billing&lang=es`);
    assert.match(en.body, /<blockquote id="consent-text" lang="en">/, 'no text for both topics in es or pt: English');
  });
});
