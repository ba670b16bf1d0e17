// The import's worker thread is a separate file the build must emit and the compiled service must find: the
// source tests run it through tsx, this one compiles the package and runs the compiled import.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
// Inside the checkout (ignored by git) so the compiled files resolve the package's node_modules.
const out = join(root, '.tmp', `build-${randomBytes(4).toString('hex')}`);
after(() => rmSync(out, { recursive: true, force: true }));

test('the compiled import reads, checks and records a CSV through its worker thread', async () => {
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out],
    { encoding: 'utf8', timeout: 240_000 },
  );
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  const dist = (p: string) => import(pathToFileURL(join(out, p)).href);
  const { openSqlite } = await dist('storage/db.js');
  const { migrateToLatest } = await dist('storage/migrate.js');
  const { createBusiness } = await dist('services/admin/manage-businesses.js');
  const { createTopic } = await dist('services/admin/manage-topics.js');
  const { registerText } = await dist('services/admin/manage-texts.js');
  const { importConsents } = await dist('services/import/import-consents.js');
  const { createKeyring } = await dist('lib/crypto.js');
  const { systemClock } = await dist('lib/clock.js');
  const { silentLogger } = await dist('lib/logger.js');
  mkdirSync(out, { recursive: true });
  const database = openSqlite(join(out, 'import.db'));
  try {
    assert.equal((await migrateToLatest(database)).error, undefined);
    const ctx = { database, clock: systemClock, keyring: createKeyring(randomBytes(32)), logger: silentLogger() };
    const b = await createBusiness(ctx, { slug: 'built', displayName: 'Built Shop' });
    await createTopic(ctx, b.id, { key: 'delivery', name: 'delivery updates', category: 'utility' });
    const text = await registerText(ctx, b.id, {
      name: 'd',
      language: 'en',
      topicKeys: ['delivery'],
      body: 'Send me delivery updates from Built Shop on WhatsApp. Reply STOP to opt out.',
    });
    const file = join(out, 'consents.csv');
    writeFileSync(
      file,
      'phone,topics,action,occurred_at,channel\n+447911000001,delivery,checked_box,2026-01-01T00:00:00Z,web\nbad,delivery,checked_box,2026-01-01T00:00:00Z,web\n',
    );
    const r = await importConsents(ctx, b.id, {
      file,
      fileName: 'consents.csv',
      fileHash: 'h',
      actor: 'test',
      defaultTextHash: text.hash,
    });
    assert.deepEqual(
      [r.total, r.imported, r.refused.map((x: { row: number; code: string }) => [x.row, x.code])],
      [2, 1, [[2, 'INVALID_PHONE']]],
    );
  } finally {
    await database.close();
  }
});
