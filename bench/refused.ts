// The cost of a refused webhook before authentication: a 3.7 MB body with a well-formed but wrong signature,
// with 1 and with 201 businesses configured (each with its own Meta app secret). Before the ownership fix it
// cost one HMAC per configured secret (0.9–1.0 s per POST with 201); now one, whatever is configured. The floor is
// what the refusal cannot avoid: one JSON parse and one HMAC of the same bytes, in the same process.
import { createHmac } from 'node:crypto';
import type { Dialect_ } from '../src/storage/db.js';
import { buildApp } from '../src/http/app.js';
import { createInboxProcessor } from '../src/worker/inbox/processor.js';
import { putWhatsAppChannel } from '../src/services/admin/manage-whatsapp-channel.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { metaJson, statusUpdate, batch } from '../src/channels/whatsapp-cloud/webhook-builders.js';
import { benchContext, figure, openBenchDb, opsPerSecond, type Figure } from './lib.js';
import type { ExtraBench } from './extra.js';

async function refusedRate(
  dialect: Dialect_,
  businesses: number,
  ms: number,
): Promise<{ rate: number; floor: number }> {
  const db = await openBenchDb(dialect);
  const ctx = benchContext(db);
  const processor = createInboxProcessor(ctx);
  const app = await buildApp({
    ctx,
    config: { bodyLimitBytes: 1024 * 1024, webhookBodyLimitBytes: 4 * 1024 * 1024, publicUrl: 'http://localhost' },
    whatsapp: { sharedAppSecret: 'shared', sharedVerifyToken: null, processor },
  });
  try {
    let target = '';
    for (let i = 0; i < businesses; i++) {
      const b = await createBusiness(ctx, { slug: `refused-${i}-${Date.now()}`, displayName: `Refused ${i}` });
      const pnid = `10650000${String(i).padStart(7, '0')}`;
      await putWhatsAppChannel(ctx, b.id, { phoneNumberId: pnid, accessToken: 't', appSecret: `own-secret-${i}` });
      if (i === 0) target = pnid;
    }
    const one = (i: number) =>
      statusUpdate({
        phoneNumberId: target,
        messageId: `wamid.refused.${i}`,
        status: 'delivered',
        recipientId: '447911123456',
        timestampMs: 1_767_225_600_000,
      });
    const each = metaJson(batch(one(0), one(1))).length - metaJson(batch(one(0))).length;
    const statuses = Array.from({ length: Math.floor((3.7 * 1024 * 1024) / each) }, (_, i) => one(i));
    const raw = metaJson(batch(...statuses));
    const body = Buffer.from(raw);
    const sig = `sha256=${'0'.repeat(64)}`;
    const rate = await opsPerSecond(async () => {
      const r = await app.inject({
        method: 'POST',
        url: '/webhooks/whatsapp',
        payload: body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig },
      });
      if (r.statusCode !== 401) throw new Error(`expected 401, got ${r.statusCode}`);
    }, ms);
    const floor = await opsPerSecond(() => {
      JSON.parse(body.toString('utf8'));
      createHmac('sha256', 'own-secret-0').update(body).digest();
    }, ms);
    return { rate, floor };
  } finally {
    await app.close();
    await processor.stop();
    await db.close();
  }
}

export const refusedBench: ExtraBench = {
  name: 'refused',
  async run(dialect, o) {
    const one = await refusedRate(dialect, 1, o.ms);
    const many = await refusedRate(dialect, 201, o.ms);
    const out: Figure[] = [];
    out.push(
      figure({
        name: 'refused 3.7 MB webhook, 1 business',
        dialect,
        value: Math.round(one.rate * 10) / 10,
        unit: 'POSTs/s',
        floorName: 'one JSON parse + one HMAC',
        floor: Math.round(one.floor * 10) / 10,
        target: 'ratio ≥ 0.5',
        targetRatio: 0.5,
        extra: { ms_per_post: Math.round(10_000 / one.rate) / 10 },
      }),
    );
    out.push(
      figure({
        name: 'refused 3.7 MB webhook, 201 businesses',
        dialect,
        value: Math.round(many.rate * 10) / 10,
        unit: 'POSTs/s',
        floorName: 'same with 1 business',
        floor: Math.round(one.rate * 10) / 10,
        target: 'ratio ≥ 0.8 (no cost per secret)',
        targetRatio: 0.8,
        extra: { ms_per_post: Math.round(10_000 / many.rate) / 10 },
      }),
    );
    return out;
  },
};
