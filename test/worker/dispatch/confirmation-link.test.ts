// Preference links in confirmations: with policy.preferenceLink.inConfirmation, the opt-in confirmation carries a
// signed link (a line of the free-form text inside the window; the named template parameter outside it) and
// the link opens the person's preference page. Both dialects.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildApp } from '../../../src/http/app.js';
import { harness, sentFor } from './helpers.js';

const BASE = 'https://consent.example';
const POLICY = {
  confirmationTemplate: { name: 'optin_confirmation', language: 'en' },
  preferenceLink: { baseUrl: BASE, inConfirmation: true, templateParam: 3 },
};

forEachDialect('dispatch worker: preference links in confirmations', (db) => {
  it('inside the window the text ends with the link, and the link opens the preference page', async (t) => {
    const h = await harness(db(), { name: 'Acme Shoes', policy: POLICY });
    t.after(() => h.close());
    const { personId, confirmationId } = await h.optIn('+447911123456', ['delivery'], { language: 'es' });
    await h.setLastInbound(personId, h.ctx.clock.now());
    await h.worker.tick();
    const body = sentFor(h.fake, confirmationId!)[0]?.body.text.body as string;
    const m = /Elige tus mensajes o detenlos aquí: (https:\/\/consent\.example(\/p\/prefs\/\S+))$/.exec(body);
    assert.ok(m, body);

    const app = await buildApp({
      ctx: h.ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: BASE },
    });
    t.after(() => app.close());
    const page = await app.inject({ method: 'GET', url: m[2]! });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Acme Shoes/);
    assert.match(
      page.body,
      /<input type="checkbox" id="topic-delivery" name="topics" value="delivery" checked/,
      'the person is shown as opted in',
    );
  });

  it('outside the window the link is the template parameter the policy names; without the setting nothing is added', async (t) => {
    const h = await harness(db(), { name: 'Acme Shoes', policy: POLICY });
    t.after(() => h.close());
    const { confirmationId } = await h.optIn('+447911123457');
    await h.worker.tick();
    const tpl = sentFor(h.fake, confirmationId!)[0]?.body.template as {
      components: { type: string; parameters: { text: string }[] }[];
    };
    const params = tpl.components.find((c) => c.type === 'body')!.parameters.map((p) => p.text);
    assert.equal(params.length, 3);
    assert.equal(params[0], 'Acme Shoes');
    assert.match(params[2]!, /^https:\/\/consent\.example\/p\/prefs\//);

    const plain = await harness(db(), { name: 'Plain Shop' });
    t.after(() => plain.close());
    const r = await plain.optIn('+447911123458');
    await plain.setLastInbound(r.personId, plain.ctx.clock.now());
    await plain.worker.tick();
    assert.doesNotMatch(sentFor(plain.fake, r.confirmationId!)[0]?.body.text.body as string, /prefs/);
  });

  it('a bad setting is refused naming the field', async (t) => {
    const h = await harness(db(), { name: 'Acme Shoes' });
    t.after(() => h.close());
    const app = await buildApp({
      ctx: h.ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 4 << 20, publicUrl: BASE },
    });
    t.after(() => app.close());
    const patch = (preferenceLink: object) =>
      app.inject({
        method: 'PATCH',
        url: '/v1/business',
        headers: { authorization: `Bearer ${h.apiKey}` },
        payload: { policy: { preferenceLink } },
      });
    const bad = await patch({ baseUrl: 'ftp://x.example', inConfirmation: true });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(bad.body, /policy\.preferenceLink\.baseUrl/);
    const badParam = await patch({ baseUrl: BASE, inConfirmation: true, templateParam: 2 });
    assert.equal(badParam.statusCode, 400);
    assert.match(badParam.body, /templateParam/);
    assert.equal((await patch({ baseUrl: BASE, inConfirmation: true, templateParam: 3 })).statusCode, 200);
  });
});
