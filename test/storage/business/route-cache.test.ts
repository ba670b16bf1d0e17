// Inbound routes (a phone_number_id → its business's channel account, app secret included) are remembered by each
// process while its cache watch trusts them, and dropped when the 'channel_routes' cache version moves (triggers
// on every channel write, migration 0018) or at once by a write through the same process. Two handles on one
// database play two processes: each has its own caches. Both dialects.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import { DatabaseCaches } from '../../../src/storage/caches.js';
import { findWhatsAppAccounts } from '../../../src/storage/business/channel-store.js';
import { readCacheVersion } from '../../../src/storage/shared/cache-versions.js';
import { putWhatsAppChannel } from '../../../src/services/admin/manage-whatsapp-channel.js';
import { configureSmtp } from '../../../src/services/capture/configure-channels.js';
import { createApiKey, revokeApiKey } from '../../../src/services/admin/manage-keys.js';
import { startCacheWatch } from '../../../src/services/admin/cache-watch.js';
import type { Database } from '../../../src/storage/db.js';
import type { ServiceContext } from '../../../src/services/context.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds, at most `tries` times: counted attempts, not a timed assertion. */
async function eventually(cond: () => Promise<boolean> | boolean, tries = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return true;
    await sleep(10);
  }
  return false;
}

/** Another process's view of the same database: the same connection, caches of its own. */
const otherProcess = (database: Database): Database => ({ ...database, caches: new DatabaseCaches() });

let n = 0;

forEachDialect('storage: the inbound route cache and its version', (db) => {
  it('every channel write moves the routes version, in its transaction; key revocations do not, and it moves no key version', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const routes0 = await readCacheVersion(db().db, 'channel_routes');
    const keys0 = await readCacheVersion(db().db, 'api_keys');
    await putWhatsAppChannel(ctx, business.id, { phoneNumberId: `ver-${++n}`, accessToken: 't' });
    const routes1 = await readCacheVersion(db().db, 'channel_routes');
    assert.ok(routes1 > routes0, 'a WhatsApp number set');
    await configureSmtp(ctx, business.id, { url: 'smtp://127.0.0.1:2525', from: 'shop@example.com' });
    const routes2 = await readCacheVersion(db().db, 'channel_routes');
    assert.ok(routes2 > routes1, 'another provider written');
    assert.equal(await readCacheVersion(db().db, 'api_keys'), keys0, 'no key version moved');
    const k = await createApiKey(ctx, { businessId: business.id, name: 'short' });
    await revokeApiKey(ctx, business.id, k.info.id);
    assert.equal(await readCacheVersion(db().db, 'channel_routes'), routes2, 'a revocation moves no route version');
  });

  it('a route is remembered while the watch trusts it, dropped when another process changes it, at once when this one does', async (t) => {
    const a: ServiceContext = testContext(db());
    const b: ServiceContext = { ...a, database: otherProcess(db()) };
    const pnid = `cache-${++n}`;
    const { business } = await seedBusiness(a);
    const put = (ctx: ServiceContext, appSecret: string) =>
      putWhatsAppChannel(ctx, business.id, { phoneNumberId: pnid, accessToken: 't', appSecret });
    const secretSeenBy = async (ctx: ServiceContext) =>
      (await findWhatsAppAccounts(ctx.database, ctx.keyring, [pnid]))[0]?.secrets?.appSecret;

    // No watch: nothing bounds how late another process's change would be seen, so nothing is remembered.
    await put(a, 'one');
    const [first] = await findWhatsAppAccounts(b.database, b.keyring, [pnid]);
    const [again] = await findWhatsAppAccounts(b.database, b.keyring, [pnid]);
    assert.notEqual(first, again, 'looked up each time');

    const watchB = startCacheWatch(b, { pollMs: 10 });
    t.after(() => watchB.stop());
    assert.ok(await eventually(() => b.database.caches.routes.trusted()), "B's watch read the versions");
    const [remembered] = await findWhatsAppAccounts(b.database, b.keyring, [pnid]);
    assert.equal((await findWhatsAppAccounts(b.database, b.keyring, [pnid]))[0], remembered, 'remembered by B');
    assert.deepEqual(
      await findWhatsAppAccounts(b.database, b.keyring, [`unknown-${n}`]),
      [],
      'a number nobody owns is no account',
    );

    // Changed through A: B's watch sees the version move and drops what it remembered.
    await put(a, 'two');
    assert.ok(await eventually(async () => (await secretSeenBy(b)) === 'two'), 'B sees the new secret');

    // Changed through B itself: seen by B at once, whatever its watch has read.
    assert.equal((await findWhatsAppAccounts(b.database, b.keyring, [pnid]))[0]?.secrets?.appSecret, 'two');
    await put(b, 'three');
    assert.equal(await secretSeenBy(b), 'three', 'at once through the process that wrote it');

    // A watch that stops leaves nothing answering from memory.
    await watchB.stop();
    const [x] = await findWhatsAppAccounts(b.database, b.keyring, [pnid]);
    assert.notEqual((await findWhatsAppAccounts(b.database, b.keyring, [pnid]))[0], x);
  });
});
