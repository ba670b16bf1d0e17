import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { testContext } from '../../helpers/context.js';
import { createBusiness } from '../../../src/services/admin/manage-businesses.js';
import { authenticate, createApiKey, revokeApiKey } from '../../../src/services/admin/manage-keys.js';
import { putWhatsAppChannel } from '../../../src/services/admin/manage-whatsapp-channel.js';
import { findChannelByExternalId, findWhatsAppAccounts } from '../../../src/storage/business/channel-store.js';
import { sha256Hex } from '../../../src/lib/crypto.js';
import type { ServiceContext } from '../../../src/services/context.js';

// The global lookups of migration 0010 (docs/scale-out.md) are written in the transaction of the row they point at.
let n = 0;
const business = (ctx: ServiceContext) =>
  createBusiness(ctx, { slug: `lookup-${++n}-${Math.random().toString(36).slice(2, 8)}`, displayName: `Lookup ${n}` });
const channel = (phoneNumberId: string) => ({ phoneNumberId, accessToken: `token-${phoneNumberId}` });

forEachDialect('storage: key and channel lookups (migration 0010)', (db) => {
  it('a business key is found through key_lookup, and refused once revoked', async () => {
    const ctx = testContext(db());
    const a = await business(ctx);
    const { key, info } = await createApiKey(ctx, { businessId: a.id, name: 'k', role: 'read' });
    const lookup = await db().db.selectFrom('key_lookup').selectAll().where('key_hash', '=', sha256Hex(key)).execute();
    assert.deepEqual(lookup, [{ key_hash: sha256Hex(key), business_id: a.id, key_id: info.id }]);
    const principal = await authenticate(ctx, key);
    assert.deepEqual(principal, { kind: 'business', keyId: info.id, businessId: a.id, role: 'read' });
    await revokeApiKey(ctx, a.id, info.id);
    assert.equal(await authenticate(ctx, key), null);
    assert.equal(await authenticate(ctx, `olk_${'A'.repeat(32)}`), null, 'an unknown key');
  });

  it('a number belongs to one business: routed to its owner, refused to another, free again once moved', async () => {
    const ctx = testContext(db());
    const [a, b] = [await business(ctx), await business(ctx)];
    const [x, y] = [`pn-${n}-x`, `pn-${n}-y`];
    await putWhatsAppChannel(ctx, a.id, channel(x));
    assert.deepEqual(
      (await findWhatsAppAccounts(db(), ctx.keyring, [x, y])).map((c) => c.businessId),
      [a.id],
    );

    await assert.rejects(putWhatsAppChannel(ctx, b.id, channel(x)), (e: { code?: string }) => e.code === 'CONFLICT');
    const ofB = await db().db.selectFrom('channel_accounts').select('id').where('business_id', '=', b.id).execute();
    assert.deepEqual(ofB, [], 'the refused PUT wrote nothing');

    await putWhatsAppChannel(ctx, a.id, channel(y));
    const old = await findChannelByExternalId(db(), ctx.keyring, 'whatsapp_cloud', x);
    assert.equal(old, null, 'the old number is no longer routed');
    await putWhatsAppChannel(ctx, b.id, channel(x));
    const routed = await findWhatsAppAccounts(db(), ctx.keyring, [x, y]);
    assert.deepEqual(
      routed.map((c) => [c.externalId, c.businessId]).sort(),
      [
        [x, b.id],
        [y, a.id],
      ].sort(),
    );
    assert.equal((await findChannelByExternalId(db(), ctx.keyring, 'whatsapp_cloud', x))?.businessId, b.id);
    const routes = await db()
      .db.selectFrom('channel_routes')
      .select(['external_id', 'business_id'])
      .where('business_id', 'in', [a.id, b.id])
      .execute();
    assert.equal(routes.length, 2, 'one route per account');
  });
});
