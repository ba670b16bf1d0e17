// Several `optline serve --no-worker` processes on one PostgreSQL database share what used to be per process
// (docs/multi-process.md): the hosted page's rate limits are enforced once, a key revoked (or a channel's app secret
// changed) through one process is refused by the other within CACHE_WATCH_BOUND_MS, and one process at a time holds
// the inbox processor's lease, the other taking it over when the holder stops. Real processes, a real server.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openPostgres } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { createKeyring } from '../../src/lib/crypto.js';
import { silentLogger } from '../../src/lib/logger.js';
import { systemClock } from '../../src/lib/clock.js';
import { CACHE_WATCH_BOUND_MS } from '../../src/services/admin/cache-watch.js';
import { seedBusiness } from '../helpers/seed.js';
import { inboundText, metaJson } from '../../src/channels/whatsapp-cloud/webhook-builders.js';
import { signMetaBody } from '../../src/channels/whatsapp-cloud/signature.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PG_URL = process.env.OPTLINE_TEST_DATABASE_URL || '';

/** Starts `optline serve --no-worker`; the child goes into `children` at once, so a failed start is still stopped. */
function startServe(
  env: Record<string, string>,
  children: ChildProcess[],
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--no-worker'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    // Generous: two processes compile from source at once on a shared machine.
    const timer = setTimeout(() => reject(new Error('optline serve did not come up within 120 s')), 120_000);
    child.once('exit', (code) => reject(new Error(`optline serve exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /Optline is running at (\S+) /.exec(line);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, url: m[1]! });
      }
    });
  });
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds, at most `tries` times: counted attempts, not a timed assertion. */
async function eventually(cond: () => Promise<boolean>, tries = 200, everyMs = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** Requests begun past the bound that each check of the bound waits for (counted, however slow the machine). */
const LATE_PROBES = 20;

/**
 * Asks `probe` again and again, each answer kept with when its request began (relative to `since`), until
 * LATE_PROBES of them began past the bound. Before the bound the other process may still answer from memory; from it
 * on, never. The stop is a count of requests, not a time: a slow machine makes more of them early, none fewer late.
 */
async function acrossTheBound(since: number, probe: () => Promise<number>) {
  const seen: { after: number; status: number }[] = [];
  const late = () => seen.filter((s) => s.after >= CACHE_WATCH_BOUND_MS);
  while (late().length < LATE_PROBES) {
    const startedAt = Date.now();
    seen.push({ after: startedAt - since, status: await probe() });
    await sleep(25);
  }
  return { seen, late: late() };
}

type Ready = { inbox: { lagMs: number; processorLease: boolean }; housekeepingLease: boolean };
const readyz = async (url: string) => (await (await fetch(`${url}/readyz`)).json()) as Ready;

it(
  'two processes on one PostgreSQL database: page limits counted once, a revoked key and a changed app secret refused by the other within the bound, one inbox processor (needs a real PostgreSQL server)',
  { skip: !PG_URL, timeout: 360_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'optline-shared-'));
    const schema = `e2e_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const masterKey = randomBytes(32);
    const children: ChildProcess[] = [];
    try {
      const database = openPostgres(PG_URL, { schema, poolSize: 2 });
      assert.equal((await migrateToLatest(database)).error, undefined);
      const ctx = { database, clock: systemClock, keyring: createKeyring(masterKey), logger: silentLogger() };
      const { business, apiKey } = await seedBusiness(ctx);
      await database.close();

      const dbUrl = new URL(PG_URL);
      dbUrl.searchParams.set('options', `-c search_path=${schema}`);
      const env = {
        PATH: process.env.PATH ?? '',
        OPTLINE_DATA_DIR: dir,
        DATABASE_URL: dbUrl.toString(),
        OPTLINE_PORT: '0',
        OPTLINE_MASTER_KEY: masterKey.toString('base64'),
        OPTLINE_SANDBOX: 'false',
        OPTLINE_LOG_LEVEL: 'error',
        OPTLINE_WORKER: 'false',
      };
      const a = await startServe(env, children);
      const b = await startServe(env, children);
      const servers = [a.url, b.url];

      // The hosted page: 5 submissions per number per hour, 30 per IP per 10 minutes (the defaults), alternating
      // between the processes. The IP limit is checked before the body is read, the number's once it is.
      const postOptIn = async (i: number, phone: string) => {
        const r = await fetch(`${servers[i % 2]}/p/${business.slug}/opt-in`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ phone, country: 'GB' }).toString(),
        });
        await r.arrayBuffer();
        return r.status;
      };
      const samePhone: number[] = [];
      for (let i = 0; i < 12; i++) samePhone.push(await postOptIn(i, '+447911100001'));
      assert.equal(
        samePhone.filter((s) => s !== 429).length,
        5,
        `one number: 5 submissions in all, not 5 per process (${samePhone.join(',')})`,
      );
      const distinct: number[] = [];
      for (let i = 0; i < 30; i++) distinct.push(await postOptIn(i, `+4479111002${String(i).padStart(2, '0')}`));
      // 12 requests counted already against the IP's 30: 18 more pass, the rest are refused, on both processes.
      assert.equal(
        distinct.filter((s) => s !== 429).length,
        18,
        `one IP: 30 submissions in all, not 30 per process (${distinct.join(',')})`,
      );
      assert.deepEqual(distinct.slice(18), Array(12).fill(429));

      // A key used on B (remembered there), then revoked through A.
      const auth = (key: string) => ({ authorization: `Bearer ${key}` });
      const created = await fetch(`${a.url}/v1/keys`, {
        method: 'POST',
        headers: { ...auth(apiKey), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'short-lived' }),
      });
      assert.equal(created.status, 201);
      const k = (await created.json()) as { key: string; info: { id: string } };
      assert.equal((await fetch(`${b.url}/v1/me`, { headers: auth(k.key) })).status, 200);
      assert.equal((await fetch(`${a.url}/v1/me`, { headers: auth(k.key) })).status, 200);
      const revoked = await fetch(`${a.url}/v1/keys/${k.info.id}`, { method: 'DELETE', headers: auth(apiKey) });
      assert.equal(revoked.status, 200);
      const revokedAt = Date.now();
      assert.equal(
        (await fetch(`${a.url}/v1/me`, { headers: auth(k.key) })).status,
        401,
        'refused at once by the process that revoked it',
      );
      // B: every request begun after the bound is refused (before it, B may still answer from memory).
      const keyOnB = await acrossTheBound(revokedAt, async () => {
        const r = await fetch(`${b.url}/v1/me`, { headers: auth(k.key) });
        await r.arrayBuffer();
        return r.status;
      });
      process.stdout.write(
        `# revoked key on the other process: ${keyOnB.seen.filter((s) => s.status === 200).length} of ${keyOnB.seen.length} answers were still 200 (only before the bound is that allowed)\n`,
      );
      assert.ok(keyOnB.late.length > 0);
      assert.ok(
        keyOnB.late.every((s) => s.status === 401),
        `refused by the other process once the bound passed: ${JSON.stringify(keyOnB.late.filter((s) => s.status !== 401))}`,
      );

      // Webhook routing is remembered by each process: a number's app secret changed through A is refused by B,
      // which routed the number a moment ago, once the bound passed (and by A at once).
      const putChannel = (appSecret: string) =>
        fetch(`${a.url}/v1/channels/whatsapp`, {
          method: 'PUT',
          headers: { ...auth(apiKey), 'content-type': 'application/json' },
          body: JSON.stringify({ phoneNumberId: 'e2e-pn', accessToken: 'token', appSecret }),
        });
      const postWebhook = async (url: string, secret: string) => {
        const body = metaJson(inboundText({ phoneNumberId: 'e2e-pn', from: '447911100900', text: 'Where is it?' }));
        const r = await fetch(`${url}/webhooks/whatsapp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, secret) },
          body,
        });
        await r.arrayBuffer();
        return r.status;
      };
      assert.equal((await putChannel('app-secret-one')).status, 200);
      assert.equal(await postWebhook(b.url, 'app-secret-one'), 200, 'B routes the number (and remembers it)');
      assert.equal(await postWebhook(b.url, 'app-secret-one'), 200);
      assert.equal((await putChannel('app-secret-two')).status, 200);
      const changedAt = Date.now();
      assert.equal(await postWebhook(a.url, 'app-secret-one'), 401, 'the old secret refused at once by A');
      assert.equal(await postWebhook(a.url, 'app-secret-two'), 200, 'the new one accepted at once by A');
      const routeOnB = await acrossTheBound(changedAt, () => postWebhook(b.url, 'app-secret-one'));
      process.stdout.write(
        `# old app secret on the other process: ${routeOnB.seen.filter((s) => s.status === 200).length} of ${routeOnB.seen.length} POSTs were still accepted (only before the bound is that allowed)\n`,
      );
      assert.ok(routeOnB.late.length > 0);
      assert.ok(
        routeOnB.late.every((s) => s.status === 401),
        `the old secret refused by the other process once the bound passed: ${JSON.stringify(routeOnB.late.filter((s) => s.status !== 401))}`,
      );
      assert.equal(await postWebhook(b.url, 'app-secret-two'), 200, 'and the new one accepted there');

      // Exactly one process holds the inbox processor's lease; when it stops, the other takes it over.
      assert.ok(
        await eventually(async () => (await Promise.all(servers.map(readyz))).some((r) => r.inbox.processorLease)),
        'one process takes the lease',
      );
      const states = await Promise.all(servers.map(readyz));
      assert.equal(states.filter((r) => r.inbox.processorLease).length, 1, 'exactly one inbox processor');
      assert.equal(states.filter((r) => r.housekeepingLease).length, 1, 'exactly one housekeeping');
      assert.ok(
        await eventually(async () => (await Promise.all(servers.map(readyz))).every((r) => r.inbox.lagMs === 0)),
        'the webhooks posted to either process are processed: nothing left waiting in the inbox',
      );
      const holder = states[0]!.inbox.processorLease ? 0 : 1;
      await stop(children[holder]!);
      const other = servers[1 - holder]!;
      assert.ok(
        await eventually(async () => (await readyz(other)).inbox.processorLease),
        'the other process took the inbox processor over',
      );
      // Each lease has its own renewal timer: housekeeping may come over at its next try, not with the processor's.
      assert.ok(await eventually(async () => (await readyz(other)).housekeepingLease), 'and housekeeping');
    } finally {
      await Promise.all(children.map(stop));
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
