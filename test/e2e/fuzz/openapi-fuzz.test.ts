import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { forEachDialect } from '../../helpers/db.js';
import { seedCaptureBusiness } from '../../helpers/capture.js';
import { configureTwilioChannel, twilioNumber, ACCOUNT_SID } from '../../http/capture/helpers.js';
import { PHONE_A, WEB_EVIDENCE } from '../../helpers/http.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/lib/logger.js';
import { buildFullApp, type FullApp } from './full-app.js';
import {
  deepJson,
  fromSchema,
  hostileString,
  mutated,
  urlPart,
  wrongType,
  type Hints,
  type Schema,
} from './arbitraries.js';

/**
 * Schema-driven fuzzing of every operation in the served /openapi.json, plus the webhooks (bad signatures) and the
 * hosted pages, on both dialects: valid-looking requests and hostile ones (NUL, lone surrogates, huge strings,
 * wrong types, deep nesting, odd path parameters). Bounded (RUNS per operation, fixed seed); fails on any 5xx.
 */
const RUNS = Number(process.env.OPTLINE_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.OPTLINE_FUZZ_SEED ?? 20_260_601);

interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Param[];
  requestBody?: { content?: Record<string, { schema: Schema }> };
  security?: unknown[];
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

type Req = InjectOptions & { label: string };

const seedOf = (label: string) => [...label].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, SEED);

function sample<T>(arb: fc.Arbitrary<T>, label: string, runs = RUNS): T[] {
  return fc.sample(arb, { numRuns: runs, seed: seedOf(label) });
}

const badSignature = fc.oneof(
  fc.constant(undefined),
  fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
  hostileString.filter((s) => /^[\x20-\x7e]*$/.test(s) && s.length < 8000),
);

forEachDialect('Fuzz: every operation of /openapi.json, the webhooks and the pages', (db, dialect) => {
  let t: FullApp;
  let apiKey: string;
  let slug: string;
  let hints: Hints;
  const totals = { requests: 0, serverErrors: 0, refusedByClient: 0 };
  const byClass: Record<string, number> = {};
  // What the app logged at error level (a 5xx logs its message and stack): quoted next to the failing request.
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged.push(chunk.toString());
      done();
    },
  });

  before(async () => {
    t = await buildFullApp(db(), { logger: createLogger('error', sink) });
    const s = await seedCaptureBusiness(t.ctx, { ownershipCheck: false });
    apiKey = s.apiKey;
    slug = s.business.slug;
    await configureTwilioChannel(t.app, s.apiKey);
    // A person with a history, so person routes reach their data (an opt-out: it needs nothing else set up).
    const optIn = await t.app.inject({
      method: 'POST',
      url: '/v1/opt-outs',
      headers: { authorization: `Bearer ${s.apiKey}` },
      payload: {
        person: { phone: PHONE_A },
        scope: 'topics',
        topics: ['billing'],
        channel: 'web',
        action: 'clicked_link',
        evidence: WEB_EVIDENCE,
      },
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    hints = {
      phones: [PHONE_A, '+14155552671', '07911 123456'],
      textHashes: [s.text.hash],
      topicKeys: ['delivery', 'billing'],
      ids: [optIn.json().personId as string, s.business.id, s.topics.delivery.id],
    };
  });
  after(async () => {
    // The figures the closing note quotes.
    console.log(
      `fuzz [${dialect}]: ${totals.requests} requests, ${totals.serverErrors} answered 5xx (by class: ${JSON.stringify(byClass)}; ${totals.refusedByClient} not sendable)`,
    );
    await t.close();
  });

  /** Sends the requests; returns this part's 5xx (at most 10 described), so each test reports only its own. */
  async function run(reqs: Req[]): Promise<string[]> {
    const failures: string[] = [];
    for (const r of reqs) {
      let status: number;
      let body = '';
      logged.length = 0;
      try {
        const res = await t.app.inject(r);
        status = res.statusCode;
        body = res.body;
      } catch {
        // The HTTP client itself refused it (a header no client can send): nothing reached the app.
        totals.refusedByClient++;
        continue;
      }
      totals.requests++;
      const cls = `${Math.floor(status / 100)}xx`;
      byClass[cls] = (byClass[cls] ?? 0) + 1;
      if (status >= 500) {
        totals.serverErrors++;
        if (failures.length < 10)
          failures.push(
            `${r.label}: ${r.method} ${String(r.url).slice(0, 200)} → ${status} ${body.slice(0, 200)} ` +
              `(payload ${String(r.payload ?? '').slice(0, 200)}) logged: ${serverError()}`,
          );
      }
    }
    return failures;
  }

  /** The message and top of the stack of what the app logged for the last request. */
  function serverError(): string {
    return (
      logged
        .map((l) => {
          try {
            const o = JSON.parse(l) as { msg?: string; err?: { message?: string; stack?: string } };
            return `${o.msg ?? ''}: ${o.err?.message ?? ''} ${(o.err?.stack ?? '')
              .split('\n')
              .slice(1, 4)
              .map((x) => x.trim())
              .join(' | ')}`;
          } catch {
            return l.slice(0, 300);
          }
        })
        .join(' ; ')
        .slice(0, 800) || '(nothing logged)'
    );
  }

  function keyFor(path: string, op: Operation): fc.Arbitrary<string | null> {
    if (op.security && op.security.length === 0) return fc.constant(null);
    const admin = path.startsWith('/v1/businesses');
    return fc.oneof(
      { arbitrary: fc.constant(admin ? t.adminKey : apiKey), weight: 8 },
      { arbitrary: fc.constant(admin ? apiKey : t.adminKey), weight: 1 },
      { arbitrary: fc.constantFrom(null, 'olk_not-a-key', `Bearer ${'k'.repeat(5000)}`), weight: 1 },
    );
  }

  function operationRequests(path: string, method: string, op: Operation, components: Record<string, Schema>): Req[] {
    const params = op.parameters ?? [];
    const valueOf = (p: Param) =>
      fc.oneof(
        { arbitrary: fromSchema(p.schema, components, hints, p.name), weight: 3 },
        { arbitrary: hostileString, weight: 2 },
        {
          arbitrary: wrongType.map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'))),
          weight: 1,
        },
      );
    const pathArb = fc.record(
      Object.fromEntries(params.filter((p) => p.in === 'path').map((p) => [p.name, valueOf(p).map(String)])),
    );
    const queryArb = fc.record(
      Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, valueOf(p).map(String)])),
      { requiredKeys: [] },
    );
    const headerArb = fc.record(
      Object.fromEntries(params.filter((p) => p.in === 'header').map((p) => [p.name, valueOf(p).map(String)])),
      { requiredKeys: [] },
    );
    const schema = op.requestBody?.content?.['application/json']?.schema;
    const valid = schema ? fromSchema(schema, components, hints) : null;
    const bodyArb: fc.Arbitrary<string | null> = valid
      ? fc.oneof(
          { arbitrary: valid.map((v) => JSON.stringify(v)), weight: 3 },
          { arbitrary: mutated(valid).map((v) => JSON.stringify(v) ?? 'null'), weight: 4 },
          { arbitrary: wrongType.map((v) => JSON.stringify(v) ?? 'null'), weight: 1 },
          {
            arbitrary: fc.constantFrom(
              deepJson(5_000, 'object'),
              deepJson(20_000, 'array'),
              '{"a":',
              '',
              '{"__proto__":{"x":1}}',
              '"\\u0000"',
            ),
            weight: 1,
          },
        )
      : fc.constant(null);
    const arb = fc.record({ path: pathArb, query: queryArb, headers: headerArb, body: bodyArb, key: keyFor(path, op) });
    const label = `${method.toUpperCase()} ${path}`;
    return sample(arb, label).map((x) => {
      const url = path.replace(/\{(\w+)\}/g, (_, n: string) => urlPart(x.path[n] ?? 'x'));
      const qs = Object.entries(x.query)
        .map(([k, v]) => `${urlPart(k)}=${urlPart(v as string)}`)
        .join('&');
      const headers: Record<string, string> = { ...(x.headers as Record<string, string>) };
      if (x.key) headers.authorization = x.key.startsWith('Bearer ') ? x.key : `Bearer ${x.key}`;
      if (x.body !== null) headers['content-type'] = 'application/json';
      return {
        label,
        method: method.toUpperCase() as 'GET',
        url: qs ? `${url}?${qs}` : url,
        headers,
        ...(x.body !== null ? { payload: x.body } : {}),
      };
    });
  }

  // First, before the fuzz archives topics or removes channels.
  it('the fuzz app sends SMS the whole way, to its loopback Twilio (so the SMS operations fuzz the real path)', async () => {
    const before = t.twilio.messages.length;
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/sms/invitations',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        person: { phone: '+14155552671' },
        topics: ['delivery'],
        textHash: hints.textHashes[0],
        mode: 'keyword',
      },
    });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(t.twilio.messages.length, before + 1);
    assert.equal(t.twilio.messages.at(-1)!.to, '+14155552671');
  });

  it(`every operation in /openapi.json: ${RUNS} generated requests each, none answered 5xx`, async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json() as Doc;
    const components = doc.components?.schemas ?? {};
    let operations = 0;
    const failures: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path.startsWith('/webhooks/')) continue; // signed form bodies: below
        operations++;
        failures.push(...(await run(operationRequests(path, method, op, components))));
      }
    }
    assert.ok(operations >= 40, `the document lists ${operations} operations`);
    assert.deepEqual(failures, []);
  });

  it('the WhatsApp and Twilio webhooks with bad signatures and hostile bodies: none answered 5xx', async () => {
    const text = fc.oneof(hostileString, fc.string({ maxLength: 30 }));
    const envelope = fc
      .record({ pnid: text, from: fc.oneof(text, fc.constant('447911123456')), id: text, body: text })
      .map((v) =>
        JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [
            {
              id: 'waba',
              changes: [
                {
                  field: 'messages',
                  value: {
                    messaging_product: 'whatsapp',
                    metadata: { phone_number_id: v.pnid, display_phone_number: '15550100999' },
                    messages: [
                      { from: v.from, id: v.id, timestamp: '1780000000', type: 'text', text: { body: v.body } },
                    ],
                  },
                },
              ],
            },
          ],
        }),
      );
    const waBody = fc.oneof(
      { arbitrary: envelope, weight: 4 },
      {
        arbitrary: fc.constantFrom(deepJson(20_000, 'array'), deepJson(5_000, 'object'), '{', '', '[]', 'null'),
        weight: 1,
      },
    );
    const wa = sample(fc.record({ body: waBody, sig: badSignature }), 'whatsapp', RUNS * 3).map((x): Req => ({
      label: 'POST /webhooks/whatsapp',
      method: 'POST',
      url: '/webhooks/whatsapp',
      payload: x.body,
      headers: { 'content-type': 'application/json', ...(x.sig ? { 'x-hub-signature-256': x.sig } : {}) },
    }));
    const formValue = fc.oneof(text, fc.constantFrom(twilioNumber(), ACCOUNT_SID, '+447911123456'));
    const form = fc
      .dictionary(
        fc.constantFrom(
          'To',
          'From',
          'AccountSid',
          'MessageSid',
          'CallSid',
          'Body',
          'Digits',
          'MessagingServiceSid',
          'x',
        ),
        formValue,
        { maxKeys: 8 },
      )
      .map((d) =>
        Object.entries(d)
          .map(([k, v]) => `${k}=${urlPart(v)}`)
          .join('&'),
      );
    const twilioPaths = [
      '/webhooks/twilio/sms',
      '/webhooks/twilio/voice',
      `/webhooks/twilio/voice/choice?attempt=1&text=${'0'.repeat(64)}`,
      '/webhooks/twilio/voice/choice?attempt=%00&text=x',
    ];
    const tw = sample(
      fc.record({ path: fc.constantFrom(...twilioPaths), body: form, sig: badSignature }),
      'twilio',
      RUNS * 3,
    ).map((x): Req => ({
      label: 'POST twilio',
      method: 'POST',
      url: x.path,
      payload: x.body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(x.sig ? { 'x-twilio-signature': x.sig } : {}),
      },
    }));
    assert.deepEqual(await run([...wa, ...tw]), []);
  });

  it('the hosted pages (opt-in form, widget, preference and unsubscribe links) with hostile input: none answered 5xx', async () => {
    const text = fc.oneof(hostileString, fc.string({ maxLength: 30 }), fc.constantFrom(...hints.phones));
    const segment = fc.oneof(
      fc.constant(slug),
      hostileString.map((s) => s.slice(0, 2000)),
    );
    const page = fc.record({
      seg: segment,
      kind: fc.constantFrom('opt-in', 'widget.js', 'prefs', 'unsubscribe'),
      q: text,
      method: fc.constantFrom('GET', 'POST'),
      form: fc.dictionary(
        fc.constantFrom('phone', 'country', 'topics', 'formToken', 'action', 'List-Unsubscribe', 'website'),
        text,
        { maxKeys: 6 },
      ),
    });
    const reqs = sample(page, 'pages', RUNS * 4).map((x): Req => {
      const url =
        x.kind === 'prefs' || x.kind === 'unsubscribe'
          ? `/p/${x.kind}/${urlPart(x.seg)}`
          : `/p/${urlPart(x.seg)}/${x.kind}?lang=${urlPart(x.q)}&embed=1`;
      const body = Object.entries(x.form)
        .map(([k, v]) => `${k}=${urlPart(v)}`)
        .join('&');
      return {
        label: `pages ${x.kind}`,
        method: x.method as 'GET',
        url,
        headers: {
          origin: 'https://optline.example',
          ...(x.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(x.method === 'POST' ? { payload: body } : {}),
      };
    });
    assert.deepEqual(await run(reqs), []);
    assert.ok(totals.requests > 0);
  });
});
