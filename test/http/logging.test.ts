import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/lib/logger.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import type { FastifyInstance } from 'fastify';

/** Every JSON line the logger wrote. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}

forEachDialect('Logs of requests and of 5xx', (db) => {
  let app: FastifyInstance;
  let key: string;
  const log = capture();
  before(async () => {
    const ctx = { ...testContext(db()), logger: createLogger('info', log.stream) };
    app = await buildApp({
      ctx,
      logger: ctx.logger,
      config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 1024 * 1024, publicUrl: 'http://localhost' },
    });
    // A route of the test's own, added to the real app before it is ready: a failure the way a driver fails.
    app.get('/boom', { config: { auth: 'none' }, schema: { hide: true } }, async () => {
      throw new Error('the driver said no for +447911123456');
    });
    await app.ready();
    key = (await createApiKey(ctx, { businessId: null, name: 'admin' })).key;
  });
  after(async () => {
    await app.close();
  });

  it('a 5xx is logged with its type, message, stack and request id; the client gets none of it', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    assert.equal(res.statusCode, 500);
    assert.ok(!res.body.includes('driver said no'));
    const id = res.json().requestId as string;
    const entry = log.lines.find((l) => l.msg === 'unhandled error');
    assert.ok(entry, log.text());
    const err = entry.err as { type?: string; message?: string; stack?: string };
    assert.equal(entry.reqId, id);
    assert.equal(err.type, 'Error');
    assert.match(err.message ?? '', /^the driver said no for \+447\*\*\*\*56$/);
    assert.match(err.stack ?? '', /logging\.test\.ts/);
    assert.ok(!log.text().includes('447911123456'), 'numbers masked in errors too');
  });

  it('request logs carry method, url with numbers masked, status and response time; never the key', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/businesses?limit=5&x=%2B447911123456',
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.statusCode, 400);
    const id = res.headers['x-request-id'];
    const incoming = log.lines.find((l) => l.reqId === id && l.msg === 'incoming request');
    const done = log.lines.find((l) => l.reqId === id && l.msg === 'request completed');
    assert.ok(incoming && done, `${String(id)}\n${log.text()}`);
    const req = incoming.req as { method: string; url: string };
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/v1/businesses?limit=5&x=%2B4479****56');
    assert.equal((done.res as { statusCode: number }).statusCode, 400);
    assert.equal(typeof done.responseTime, 'number');
    assert.ok(!log.text().includes(key), 'the API key is never logged');
    assert.ok(!log.text().includes('447911123456'));
  });
});
