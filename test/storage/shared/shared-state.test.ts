// What processes on one database share instead of memory (migration 0011): rate-limit counters, process leases,
// and the key cache version. Both dialects; several connections ask at once where the dialect has them.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness } from '../../helpers/seed.js';
import { hitRateLimit } from '../../../src/storage/shared/rate-limit-store.js';
import { readLease, releaseLease, takeLease } from '../../../src/storage/shared/lease-store.js';
import { readCacheVersion } from '../../../src/storage/shared/cache-versions.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../../src/services/admin/manage-keys.js';

const T0 = Date.UTC(2026, 5, 1, 12);

forEachDialect('shared state', (db) => {
  it('rate limits: 40 hits of one key at once are counted 1..40 exactly once; the window restarts at 1 after it ends', async () => {
    const hits = await Promise.all(
      Array.from({ length: 40 }, () => hitRateLimit(db().db, 'optin-ip:198.51.100.1', 600_000, T0)),
    );
    assert.deepEqual(
      hits.map((h) => h.hits).sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.ok(
      hits.every((h) => h.resetAt === T0 + 600_000),
      'one window, started by the first hit',
    );
    assert.deepEqual(await hitRateLimit(db().db, 'optin-ip:198.51.100.1', 600_000, T0 + 599_999), {
      hits: 41,
      resetAt: T0 + 600_000,
    });
    assert.deepEqual(await hitRateLimit(db().db, 'optin-ip:198.51.100.1', 600_000, T0 + 600_000), {
      hits: 1,
      resetAt: T0 + 1_200_000,
    });
    assert.equal(
      (await hitRateLimit(db().db, 'optin-ip:198.51.100.2', 600_000, T0)).hits,
      1,
      'another key counts apart',
    );
    assert.equal(
      (await hitRateLimit(db().db, 'optin-ip:198.51.100.1', 60_000, T0 + 600_000)).hits,
      1,
      'another window counts apart',
    );
    const stored = await db().db.selectFrom('rate_limits').select('key_hash').execute();
    assert.ok(
      stored.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash)),
      'keys are stored hashed, never the IP or number',
    );
  });

  it('leases: of 8 processes asking at once exactly one holds it; the holder renews; another takes over only after it ran out, or at once when released', async () => {
    const holders = Array.from({ length: 8 }, (_, i) => `p${i}`);
    const took = await Promise.all(holders.map((h) => takeLease(db().db, 'inbox-processor', h, T0, 15_000)));
    assert.equal(took.filter(Boolean).length, 1, 'exactly one holder');
    const holder = holders[took.indexOf(true)]!;
    const other = holders.find((h) => h !== holder)!;
    assert.equal(await takeLease(db().db, 'inbox-processor', holder, T0 + 5_000, 15_000), true, 'the holder renews');
    assert.equal(
      await takeLease(db().db, 'inbox-processor', other, T0 + 19_999, 15_000),
      false,
      'not before the renewed lease ran out',
    );
    assert.deepEqual(await readLease(db().db, 'inbox-processor'), {
      name: 'inbox-processor',
      holder,
      until: T0 + 20_000,
      takenAt: T0,
    });
    assert.equal(
      await takeLease(db().db, 'inbox-processor', other, T0 + 20_000, 15_000),
      true,
      'taken over once it ran out',
    );
    assert.equal(
      await takeLease(db().db, 'inbox-processor', holder, T0 + 21_000, 15_000),
      false,
      'the old holder does not get it back',
    );
    assert.equal(await takeLease(db().db, 'housekeeping', holder, T0 + 21_000, 15_000), true, 'leases are independent');
    await releaseLease(db().db, 'inbox-processor', other, T0 + 22_000);
    assert.equal(
      await takeLease(db().db, 'inbox-processor', holder, T0 + 22_000, 15_000),
      true,
      'a released lease is taken at once',
    );
    assert.equal((await readLease(db().db, 'inbox-processor'))?.takenAt, T0 + 22_000);
  });

  it('the key cache version moves with every revocation of a business or admin key, in its transaction, and with nothing else', async () => {
    const ctx = testContext(db());
    const { business } = await seedBusiness(ctx);
    const v0 = await readCacheVersion(db().db, 'api_keys');
    const k = await createApiKey(ctx, { businessId: business.id, name: 'second' });
    const admin = await createApiKey(ctx, { businessId: null, name: 'ops' });
    await listApiKeys(ctx, business.id);
    assert.equal(await readCacheVersion(db().db, 'api_keys'), v0, 'creating and listing keys move nothing');
    await revokeApiKey(ctx, business.id, k.info.id);
    const v1 = await readCacheVersion(db().db, 'api_keys');
    assert.ok(v1 > v0, 'a business key revoked');
    await revokeApiKey(ctx, null, admin.info.id);
    assert.ok((await readCacheVersion(db().db, 'api_keys')) > v1, 'an admin key revoked');
  });
});
