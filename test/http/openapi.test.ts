import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { fetchServedOpenApi } from '../helpers/openapi-doc.js';

type Op = { operationId?: string; tags?: string[]; responses?: Record<string, { content?: Record<string, unknown> }> };

describe('served OpenAPI document', () => {
  let doc: Record<string, unknown>;
  const ops: { key: string; op: Op }[] = [];
  before(async () => {
    doc = await fetchServedOpenApi();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Op>>)) {
      for (const [method, op] of Object.entries(item)) ops.push({ key: `${method.toUpperCase()} ${path}`, op });
    }
  });

  it('is a valid OpenAPI 3.0.3 document for a real validator', async () => {
    assert.equal(doc.openapi, '3.0.3');
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('gives every operation a unique camelCase operationId and a tag', () => {
    assert.ok(ops.length > 40, `found ${ops.length} operations`);
    const seen = new Map<string, string>();
    for (const { key, op } of ops) {
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]*$/, `${key} operationId`);
      assert.ok(!seen.has(op.operationId!), `${key} and ${seen.get(op.operationId!)} share ${op.operationId}`);
      seen.set(op.operationId!, key);
      assert.ok(op.tags && op.tags.length > 0, `${key} has tags`);
    }
  });

  it('declares error responses as application/problem+json, as they are served', () => {
    let errors = 0;
    for (const { key, op } of ops) {
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        if (!/^[45]/.test(status)) continue;
        errors++;
        assert.deepEqual(Object.keys(res.content ?? {}), ['application/problem+json'], `${key} ${status}`);
      }
    }
    assert.ok(errors > 40);
  });

  it('documents the inbound webhooks', () => {
    const paths = doc.paths as Record<string, Record<string, Op>>;
    assert.equal(paths['/webhooks/whatsapp']?.post?.operationId, 'receiveWhatsappWebhook');
    assert.equal(paths['/webhooks/whatsapp']?.get?.operationId, 'verifyWhatsappWebhook');
    for (const p of ['/webhooks/twilio/sms', '/webhooks/twilio/voice']) assert.ok(paths[p]?.post, p);
  });
});
