import { it, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The README's five-minute walkthrough, step by step, against `optline start` in a fresh directory: the
// laptop default (SQLite, generated key, demo business, sandbox WhatsApp provider, worker in process).
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

describe('README walkthrough against `optline start`', () => {
  let dir: string;
  let child: ChildProcess;
  let api = '';
  let key = '';
  const env = () => ({
    PATH: process.env.PATH ?? '',
    OPTLINE_DATA_DIR: join(dir, 'data'),
    OPTLINE_PORT: '0',
    OPTLINE_LOG_LEVEL: 'warn',
    OPTLINE_WORKER_POLL_MS: '50',
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, json: (await r.json()) as any };
  };
  const until = async <T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'optline-e2e-'));
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], {
      env: env(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('optline start did not come up')), 30_000);
      lines.on('line', (l) => {
        const k = /business key:\s+(\S+)/.exec(l);
        if (k) key = k[1]!;
        const u = /Optline is running at (\S+) /.exec(l);
        if (u) {
          api = u[1]!;
          clearTimeout(t);
          resolve();
        }
      });
    });
  });
  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the demo key once and saves it under ./data', () => {
    assert.match(key, /^olk_/);
    assert.ok(readFileSync(join(dir, 'data', 'demo-credentials.txt'), 'utf8').includes(key));
  });

  it('walks through opt-in, gate, notification, STOP from WhatsApp, proof and verify', async () => {
    const topics = await call('GET', '/v1/topics');
    assert.deepEqual(topics.json.data.map((t: { key: string }) => t.key).sort(), ['appointments', 'delivery']);
    const texts = await call('GET', '/v1/texts');
    const text = texts.json.data[0].hash as string;
    assert.equal(texts.json.data[0].usable, true);

    const before = await call('POST', '/v1/decisions', { person: { phone: '+44 7911 123456' }, topic: 'delivery' });
    assert.equal(before.json.reasons[0].code, 'NO_CONSENT');

    const optIn = await call('POST', '/v1/opt-ins', {
      person: { phone: '+44 7911 123456' },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: text,
      evidence: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0', pageUrl: 'https://shop.example/whatsapp' },
    });
    assert.equal(optIn.status, 201);
    // The confirmation is sent by the worker to the sandbox, and the sandbox's status webhooks come back.
    await until(async () => {
      const m = await call('GET', `/v1/messages/${optIn.json.confirmationMessageId}`);
      return ['delivered', 'read'].includes(m.json.status) ? m : undefined;
    });

    const body = {
      person: { phone: '+447911123456' },
      topic: 'delivery',
      template: { name: 'order_shipped', language: 'en', bodyParams: ['1001'] },
    };
    const q1 = await call('POST', '/v1/messages', body, { 'idempotency-key': 'order-1001-shipped' });
    assert.equal(q1.status, 202);
    const q2 = await call('POST', '/v1/messages', body, { 'idempotency-key': 'order-1001-shipped' });
    assert.equal(q2.json.message.id, q1.json.message.id);

    const sim = spawnSync(
      process.execPath,
      ['--import', 'tsx', MAIN, 'simulate', 'text', '--from', '+447911123456', '--text', 'STOP'],
      {
        // As a reader runs it beside `npm start`: simulate talks to the configured port (here the one start chose).
        env: { ...env(), OPTLINE_PUBLIC_URL: api, OPTLINE_PORT: new URL(api).port },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(sim.status, 0, sim.stderr);
    const after = await until(async () => {
      const d = await call('POST', '/v1/decisions', { person: { phone: '+447911123456' }, topic: 'delivery' });
      return d.json.outcome === 'refuse' ? d : undefined;
    });
    assert.equal(after.json.reasons[0].code, 'OPTED_OUT');
    assert.equal(after.json.reasons[0].eventIds.length, 1);

    const people = await call('GET', `/v1/people?phone=${encodeURIComponent('+447911123456')}`);
    const person = people.json.data[0].id;
    const events = await call('GET', `/v1/people/${person}/events`);
    assert.ok(
      events.json.data.some((e: { type: string; channel: string }) => e.type === 'opt_out' && e.channel === 'whatsapp'),
    );
    const proof = await call('GET', `/v1/people/${person}/proof`);
    assert.equal(proof.json.chain.ok, true);

    const verify = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'verify'], {
      env: env(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });
});
