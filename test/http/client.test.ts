import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createClient, type OptlineClient } from '../../src/client/index.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { CLIENT_SCHEMA_FILE, renderClientSchema } from '../../scripts/generate-client.js';
import { startComposedServer, type ComposedServer } from '../helpers/openapi-doc.js';

type Op = {
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses?: Record<string, { content?: Record<string, unknown> }>;
};

describe('typed client (optline/client)', () => {
  let s: ComposedServer;
  let doc: { paths: Record<string, Record<string, Op>> };
  let admin: OptlineClient;
  let adminKey: string;
  before(async () => {
    s = await startComposedServer();
    doc = (await (await fetch(`${s.server.url}/openapi.json`)).json()) as typeof doc;
    adminKey = (await createApiKey(s.ctx, { businessId: null, name: 'admin' })).key;
    admin = createClient({ baseUrl: s.server.url, apiKey: adminKey });
  });
  after(() => s.close());

  it('the checked-in generated types match the served /openapi.json (run `npm run client:generate`)', async () => {
    const expected = await renderClientSchema(doc as never);
    assert.ok(
      readFileSync(CLIENT_SCHEMA_FILE, 'utf8') === expected,
      'src/client/schema.ts is out of date: run `npm run client:generate`',
    );
  });

  it('walks the basics with typed calls: business, key, topic, text, opt-in, gate, person', async () => {
    const b = await admin.POST('/v1/businesses', { body: { slug: 'client-shop', displayName: 'Client Shop' } });
    assert.equal(b.response.status, 201);
    const k = await admin.POST('/v1/businesses/{id}/keys', {
      params: { path: { id: b.data!.id } },
      body: { name: 'main' },
    });
    assert.equal(k.response.status, 201);
    const biz = createClient({ baseUrl: s.server.url, apiKey: k.data!.key });
    assert.equal(
      (await biz.POST('/v1/topics', { body: { key: 'delivery', name: 'delivery updates', category: 'utility' } }))
        .response.status,
      201,
    );
    const text = await biz.POST('/v1/texts', {
      body: {
        name: 'default',
        language: 'en',
        topicKeys: ['delivery'],
        body: 'Send me delivery updates from Client Shop on WhatsApp. Reply STOP to opt out.',
      },
    });
    assert.equal(text.response.status, 201, JSON.stringify(text.error));
    const optIn = await biz.POST('/v1/opt-ins', {
      body: {
        person: { phone: '+447911123456' },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: text.data!.hash,
        evidence: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', pageUrl: 'https://shop.example/whatsapp' },
      },
    });
    assert.equal(optIn.response.status, 201, JSON.stringify(optIn.error));
    const person = await biz.GET('/v1/people/{id}', { params: { path: { id: optIn.data!.personId } } });
    assert.equal(person.response.status, 200);
    const bad = await biz.GET('/v1/people/{id}', { params: { path: { id: 'per_00000000000000000000000000' } } });
    assert.equal(bad.response.status, 404);
    assert.equal(bad.response.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(bad.error?.code, 'NOT_FOUND');
  });

  it('reaches every documented operation (any status but 5xx or ROUTE_NOT_FOUND)', async () => {
    // Untyped on purpose: the loop covers what the document lists, whatever is added later.
    const loose = admin as unknown as Record<
      string,
      (path: string, init: object) => Promise<{ response: Response; error?: { code?: string } }>
    >;
    let n = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const pathParams = Object.fromEntries(
          (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => [p.name, 'xx_unknown']),
        );
        const textual = Object.keys(op.responses?.['200']?.content ?? {}).some((c) => c.startsWith('text/'));
        const init = {
          params: { path: pathParams },
          ...(op.requestBody ? { body: {} } : {}),
          ...(textual ? { parseAs: 'text' } : {}),
        };
        const r = await loose[method.toUpperCase()]!(path, init);
        assert.ok(r.response.status < 500, `${method} ${path}: ${r.response.status}`);
        assert.notEqual(r.error?.code, 'ROUTE_NOT_FOUND', `${method} ${path} is not routed`);
        n++;
      }
    }
    assert.ok(n > 40, `${n} operations`);
  });
});
