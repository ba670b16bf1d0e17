import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { forEachDialect, openTestDb } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { seedBusiness } from '../helpers/seed.js';
import { buildApp } from '../../src/http/app.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import { startImportJobRunner } from '../../src/worker/import/job-runner.js';
import { runImport } from '../../src/cli/commands/import.js';
import { runRemoteImport } from '../../src/cli/commands/import-remote.js';
import type { CliIO } from '../../src/cli/run.js';

const dir = mkdtempSync(join(tmpdir(), 'optline-cli-server-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function collectingIO(): CliIO & {
  stdout: () => string;
  stderr: () => string;
  onErr: (f: (t: string) => void) => void;
} {
  const grab = () => {
    const s = new PassThrough();
    let text = '';
    const listeners: ((t: string) => void)[] = [];
    s.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      for (const l of listeners) l(text);
    });
    return { s, text: () => text, listeners };
  };
  const out = grab();
  const err = grab();
  return {
    out: out.s,
    err: err.s,
    isTTY: false,
    stdout: out.text,
    stderr: err.text,
    onErr: (f) => err.listeners.push(f),
  };
}

const csvFile = (name: string) => {
  const p = join(dir, name);
  writeFileSync(
    p,
    [
      'phone,topics,action,occurred_at,channel',
      '+447911123456,delivery,checked_box,2026-05-01T09:00:00Z,web',
      'not a number,delivery,checked_box,2026-05-01T09:00:00Z,web',
      '+447911123457,billing,checked_box,2026-05-01T09:00:00Z,web',
    ].join('\n'),
  );
  return p;
};

forEachDialect('optline import --server (through a running Optline)', (db) => {
  it("sends the file, prints the server's progress and the same summary and exit code, and writes the rejects", async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const key = (await createApiKey(ctx, { businessId: business.id, name: 'cli' })).key;
    const runner = startImportJobRunner(ctx, { poll: false });
    const app = await buildApp({
      ctx,
      config: { bodyLimitBytes: 1 << 20, webhookBodyLimitBytes: 1 << 20, publicUrl: 'http://localhost' },
      imports: runner,
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const io = collectingIO();
      const rejects = join(dir, 'rejects.csv');
      const code = await runRemoteImport(
        csvFile('crm.csv'),
        { server: url, key, options: { kind: 'consents', text: text.hash }, rejects, pollMs: 10 },
        io,
      );
      assert.equal(code, 2, io.stderr());
      assert.match(io.stderr(), /^uploaded crm\.csv \(\d+ bytes\): import imp_\w+ queued\n/);
      assert.equal(
        io.stdout().split('\n')[0],
        'crm.csv: 3 rows: 2 imported, 0 already there, 1 refused; 0 WhatsApp confirmations queued',
      );
      assert.match(io.stdout(), /refused by code: INVALID_PHONE 1\n/);
      assert.match(readFileSync(rejects, 'utf8'), /^row,code,field,reason\n2,INVALID_PHONE,phone,/);
      const bad = collectingIO();
      assert.equal(
        await runRemoteImport(
          csvFile('x.csv'),
          { server: url, key, options: { kind: 'consents', format: 'twilio' } },
          bad,
        ),
        1,
      );
      assert.match(bad.stderr(), /VALIDATION_FAILED: .*\(format\)/);
    } finally {
      await runner.stop();
      await app.close();
    }
  });
});

it('optline import --server says "is Optline running" when nothing listens there', async () => {
  const io = collectingIO();
  const code = await runRemoteImport(
    csvFile('y.csv'),
    { server: 'http://127.0.0.1:9', key: 'olk_x', options: { kind: 'consents' } },
    io,
  );
  assert.equal(code, 1);
  assert.match(io.stderr(), /cannot reach Optline at http:\/\/127\.0\.0\.1:9 .*is Optline running there\?/);
});

it('on SQLite a local import beside another writer waits for the lock and finishes (no "database is locked")', async () => {
  const database = await openTestDb('sqlite');
  try {
    const ctx = testContext(database);
    const { business, text } = await seedBusiness(ctx);
    // Fail fast on a held lock, so the test reaches the retry at once instead of after busy_timeout.
    database.sqlite!.pragma('busy_timeout = 0');
    // Another process (a server) holds the write lock until the import says it is waiting.
    const other = new SQLite(database.sqlite!.name);
    other.prepare('BEGIN IMMEDIATE').run();
    other.prepare('UPDATE businesses SET updated_at = updated_at WHERE id = ?').run(business.id);
    const io = collectingIO();
    io.onErr((t) => {
      if (/waiting for it/.test(t) && other.inTransaction) other.prepare('COMMIT').run();
    });
    const code = await runImport(ctx, csvFile('locked.csv'), { business: business.slug, text: text.hash }, io);
    other.close();
    assert.equal(code, 2, io.stderr());
    assert.match(io.stderr(), /the database is busy \(another Optline process is writing\); waiting for it/);
    assert.doesNotMatch(io.stderr(), /locked/);
    assert.equal(
      io.stdout().split('\n')[0],
      'locked.csv: 3 rows: 2 imported, 0 already there, 1 refused; 0 WhatsApp confirmations queued',
    );
  } finally {
    await database.close();
  }
});
