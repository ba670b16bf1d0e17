import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openSqlite } from '../../../src/storage/db.js';
import { migrateToLatest } from '../../../src/storage/migrate.js';
import { createKeyring } from '../../../src/lib/crypto.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { systemClock } from '../../../src/lib/clock.js';
import { putWhatsAppChannel } from '../../../src/services/admin/manage-whatsapp-channel.js';
import { seedBusiness } from '../../helpers/seed.js';
import {
  inboundText,
  sendSignedWebhook,
  type MetaEnvelope,
} from '../../../src/channels/whatsapp-cloud/webhook-builders.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SERVER = fileURLToPath(new URL('./webhook-server.ts', import.meta.url));
const COUNT = 400;
const CONCURRENCY = 8;
const SECRET = 'kill-test-app-secret';
const PHONE_NUMBER_ID = '106540352242922';

function startServer(file: string, key: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, file, key, SECRET], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    // Generous: a loaded machine starts slowly, and only a server that never starts should fail the test.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('server did not start within 120 s'));
    }, 120_000);
    child.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^LISTENING (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, url: `${m[1]}/webhooks/whatsapp` });
      }
    });
  });
}

const exited = (child: ChildProcess) =>
  new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
  );

/**
 * Sends the envelopes with `CONCURRENCY` in flight; records which got a 200. Network errors count as not acknowledged.
 */
async function load(
  url: string,
  envs: MetaEnvelope[],
  acked: Set<number>,
  opts: { paceMs?: number; onAck?: () => void } = {},
) {
  let next = 0;
  const worker = async () => {
    while (next < envs.length) {
      const i = next++;
      try {
        const r = await sendSignedWebhook(url, envs[i]!, SECRET, { timeoutMs: 5000 });
        if (r.status === 200) {
          acked.add(i);
          opts.onAck?.();
        }
      } catch {
        // The server is gone: Meta would retry later.
      }
      if (opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

it(
  'a server killed mid-load loses no acknowledged webhook, and replays act exactly once',
  { timeout: 60_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'optline-kill-'));
    const file = join(dir, 'optline.db');
    const key = randomBytes(32).toString('hex');
    const children: ChildProcess[] = [];
    try {
      // The business and its number, written before the server starts (as `optline start` would).
      const database = openSqlite(file);
      await migrateToLatest(database);
      const ctx = {
        database,
        clock: systemClock,
        keyring: createKeyring(Buffer.from(key, 'hex')),
        logger: silentLogger(),
      };
      const { business } = await seedBusiness(ctx);
      await putWhatsAppChannel(ctx, business.id, { phoneNumberId: PHONE_NUMBER_ID, accessToken: 'token' });
      await database.close();

      // 400 different people each send STOP once.
      const envs = Array.from({ length: COUNT }, (_, i) =>
        inboundText({
          phoneNumberId: PHONE_NUMBER_ID,
          from: `447911${100000 + i}`,
          text: 'STOP',
          id: `wamid.KILL${String(i).padStart(4, '0')}`,
        }),
      );
      const acked = new Set<number>();

      const first = await startServer(file, key);
      children.push(first.child);
      // About 2 s of load; SIGKILL once a third of it is acknowledged, with requests and processing in flight.
      let killed = false;
      await load(first.url, envs, acked, {
        paceMs: 35,
        onAck: () => {
          if (!killed && acked.size >= COUNT / 3) {
            killed = true;
            first.child.kill('SIGKILL');
          }
        },
      });
      await exited(first.child);
      assert.ok(killed && acked.size < COUNT, `the kill landed mid-load (${acked.size} of ${COUNT} acknowledged)`);
      const ackedBeforeKill = new Set(acked);
      const atKill = openSqlite(file);
      const stored = await atKill.db.selectFrom('inbox').select(['processed_at']).execute();
      await atKill.close();
      t.diagnostic(
        `at the kill: ${acked.size} acknowledged, ${stored.length} stored, ${stored.filter((r) => r.processed_at === null).length} stored but not processed`,
      );
      assert.ok(stored.length >= acked.size, 'everything acknowledged was stored');

      // Restart on the same file and replay everything: what was not acknowledged, and (Meta being at-least-once)
      // what was.
      const second = await startServer(file, key);
      children.push(second.child);
      const replayAcked = new Set<number>();
      await load(second.url, envs, replayAcked);
      assert.equal(replayAcked.size, COUNT, 'every replay is acknowledged');

      // The recovery loop finishes what the killed process stored but never processed.
      const check = openSqlite(file);
      try {
        const deadline = Date.now() + 60_000;
        let pending = -1;
        while (Date.now() < deadline) {
          pending = Number(
            (
              await check.db
                .selectFrom('inbox')
                .select((eb) => eb.fn.countAll().as('n'))
                .where('processed_at', 'is', null)
                .executeTakeFirstOrThrow()
            ).n,
          );
          if (pending === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(pending, 0, 'every stored item is processed');

        const inbox = await check.db
          .selectFrom('inbox')
          .select(['dedupe_key', 'outcome', 'attempts'])
          .where('business_id', '=', business.id)
          .execute();
        const events = await check.db
          .selectFrom('consent_events')
          .select(['source_ref', 'type'])
          .where('business_id', '=', business.id)
          .execute();
        const acks = await check.db
          .selectFrom('messages')
          .select(['person_id'])
          .where('business_id', '=', business.id)
          .where('kind', '=', 'reply')
          .execute();
        const byKey = new Map<string, number>();
        for (const r of inbox) byKey.set(r.dedupe_key, (byKey.get(r.dedupe_key) ?? 0) + 1);
        const bySource = new Map<string, number>();
        for (const e of events) bySource.set(String(e.source_ref), (bySource.get(String(e.source_ref)) ?? 0) + 1);
        for (const i of ackedBeforeKill) {
          const wamid = `wamid.KILL${String(i).padStart(4, '0')}`;
          assert.equal(byKey.get(`wa:msg:${wamid}`), 1, `${wamid}: acknowledged before the kill, stored once`);
          assert.equal(bySource.get(`wa:msg:${wamid}`), 1, `${wamid}: acknowledged before the kill, one opt-out`);
        }
        assert.equal(inbox.length, COUNT, 'each webhook stored exactly once');
        assert.ok(
          inbox.every((r) => r.outcome === 'opted_out'),
          'each processed to its opt-out',
        );
        assert.equal(events.filter((e) => e.type === 'opt_out').length, COUNT, 'one opt-out per person, none twice');
        assert.equal(new Set(events.map((e) => e.source_ref)).size, COUNT);
        assert.equal(acks.length, COUNT, 'one acknowledgement per opt-out');
        assert.equal(new Set(acks.map((a) => a.person_id)).size, COUNT);
      } finally {
        await check.close();
      }
      second.child.kill('SIGTERM');
      await exited(second.child);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
