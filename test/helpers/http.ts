import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import type { Database } from '../../src/storage/db.js';
import { testContext } from './context.js';

export interface TestApp {
  app: FastifyInstance;
  ctx: ReturnType<typeof testContext>;
  adminKey: string;
  /** Creates a business over HTTP with two utility topics and a usable text; returns its key and ids. */
  newBusiness(name?: string): Promise<{ id: string; key: string; textHash: string }>;
  call(
    method: string,
    url: string,
    key: string | null,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
}

let seq = 0;

export async function buildTestApp(database: Database): Promise<TestApp> {
  const ctx = testContext(database);
  const app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: 'http://localhost:8080' },
  });
  await app.ready();
  const adminKey = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  const call: TestApp['call'] = (method, url, key, body, headers = {}) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  return {
    app,
    ctx,
    adminKey,
    call,
    async newBusiness(name = `Shop ${++seq}`) {
      const slug = `shop-${seq}-${Math.random().toString(36).slice(2, 7)}`;
      const b = await call('POST', '/v1/businesses', adminKey, { slug, displayName: name });
      if (b.statusCode !== 201) throw new Error(`business: ${b.statusCode} ${b.body}`);
      const id = b.json().id as string;
      const k = await call('POST', `/v1/businesses/${id}/keys`, adminKey, { name: 'main' });
      const key = k.json().key as string;
      for (const t of [
        { key: 'delivery', name: 'delivery updates' },
        { key: 'billing', name: 'billing alerts' },
      ]) {
        const r = await call('POST', '/v1/topics', key, { ...t, category: 'utility' });
        if (r.statusCode !== 201) throw new Error(`topic: ${r.body}`);
      }
      const text = await call('POST', '/v1/texts', key, {
        name: 'default',
        language: 'en',
        topicKeys: ['delivery', 'billing'],
        body: `Send me delivery updates and billing alerts from ${name} on WhatsApp. Reply STOP to opt out.`,
      });
      return { id, key, textHash: text.json().hash as string };
    },
  };
}

export const PHONE_A = '+447911123456';
export const PHONE_B = '+14155552671';
export const WEB_EVIDENCE = { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', pageUrl: 'https://shop.example/whatsapp' };
