import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { buildTestApp } from '../../helpers/http.js';
import { testContext } from '../../helpers/context.js';
import { seedBusiness, webEvidence } from '../../helpers/seed.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { exportProof } from '../../../src/services/consent/export-proof.js';
import { sealBusiness } from '../../../src/services/consent/seal-ledger.js';
import { verifyBundle } from '../../../src/lib/proof-bundle.js';
import { createKeyring } from '../../../src/lib/crypto.js';
import { randomBytes } from 'node:crypto';

forEachDialect('signed proof bundles', (db) => {
  it('a fresh bundle verifies offline with only the public key; every one-byte change to it fails', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const base = {
      channel: 'web' as const,
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
    };
    const r = await recordOptIn(ctx, business.id, {
      ...base,
      person: { phone: '+447911123456' },
      topics: ['delivery'],
    });
    await recordOptIn(ctx, business.id, { ...base, person: { personId: r.personId }, topics: ['billing'] });
    await sealBusiness(ctx, business.id);
    const bundle = await exportProof(ctx, business.id, r.personId);
    assert.equal(bundle.seal?.coveredSeq, 2);
    const file = JSON.stringify(bundle);
    const pem = ctx.keyring.ledger.publicKeyPem;
    const ok = verifyBundle(file, pem);
    assert.deepEqual(
      [ok.ok, ok.personId, ok.events, ok.keyId],
      [true, r.personId, 2, ctx.keyring.ledger.keyId],
      ok.reason ?? '',
    );

    // Every byte position, one bit flipped (bounded: the file is a few kilobytes).
    const bytes = Buffer.from(file, 'utf8');
    let held = 0;
    for (let i = 0; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i]! ^ 0x01;
      if (verifyBundle(changed.toString('utf8'), pem).ok) held += 1;
    }
    assert.equal(held, 0, `a one-byte change still verified at ${held} of ${bytes.length} positions`);

    const other = createKeyring(randomBytes(32)).ledger.publicKeyPem;
    assert.match(verifyBundle(file, other).reason ?? '', /signed with key .* not with this public key/);
    assert.match(verifyBundle(file, 'not a key').reason ?? '', /not an Ed25519 public key/);
  });

  it('GET /.well-known/optline-ledger-key needs no key and its key verifies the bundle GET /v1/people/{id}/proof returns', async () => {
    const t = await buildTestApp(db());
    const b = await t.newBusiness();
    const optIn = await t.call('POST', '/v1/opt-ins', b.key, {
      person: { phone: '+447911123400' },
      topics: ['delivery'],
      channel: 'web',
      action: 'checked_box',
      textHash: b.textHash,
      evidence: webEvidence,
    });
    assert.equal(optIn.statusCode, 201, optIn.body);
    const key = await t.call('GET', '/.well-known/optline-ledger-key', null);
    assert.equal(key.statusCode, 200);
    const k = key.json() as {
      alg: string;
      keyId: string;
      publicKeyPem: string;
      jwk: { kty: string; crv: string; x: string };
    };
    assert.deepEqual([k.alg, k.keyId, k.jwk.kty, k.jwk.crv], ['Ed25519', t.ctx.keyring.ledger.keyId, 'OKP', 'Ed25519']);
    assert.match(k.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
    const proof = await t.call('GET', `/v1/people/${optIn.json().personId}/proof`, b.key);
    assert.equal(proof.statusCode, 200);
    const check = verifyBundle(proof.body, k.publicKeyPem);
    assert.equal(check.ok, true, check.reason ?? '');
    const spec = (await t.call('GET', '/openapi.json', null)).json() as { paths: Record<string, unknown> };
    assert.ok(spec.paths['/.well-known/optline-ledger-key'], 'documented in OpenAPI');
    await t.app.close();
  });
});
