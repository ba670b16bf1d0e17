import { it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { forEachDialect } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';
import { seedBusiness, webEvidence } from '../helpers/seed.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import { runVerify } from '../../src/cli/commands/verify.js';
import type { CliIO } from '../../src/cli/run.js';

function collectingIO(): CliIO & { stdout: () => string; stderr: () => string } {
  const grab = () => {
    const s = new PassThrough();
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('utf8')));
    return { s, text: () => text };
  };
  const out = grab();
  const err = grab();
  return { out: out.s, err: err.s, isTTY: false, stdout: out.text, stderr: err.text };
}

forEachDialect('optline verify', (db) => {
  it('passes an untouched ledger and names the event edited behind its back', async () => {
    const ctx = testContext(db());
    const { business, text } = await seedBusiness(ctx);
    const base = {
      channel: 'web' as const,
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
    };
    const a = await recordOptIn(ctx, business.id, {
      ...base,
      person: { phone: '+447911123456' },
      topics: ['delivery'],
    });
    ctx.clock.advance(1000);
    await recordOptIn(ctx, business.id, { ...base, person: { phone: '+447911123456' }, topics: ['billing'] });
    await recordOptIn(ctx, business.id, { ...base, person: { phone: '+447911123457' }, topics: ['billing'] });

    const io = collectingIO();
    const ok = await runVerify(ctx, { business: business.slug }, io);
    assert.equal(ok.exitCode, 0);
    assert.deepEqual([ok.people, ok.events], [2, 3]);
    assert.match(io.stdout(), /every chain is intact/);

    // Someone with database access backdates the first opt-in.
    await db()
      .db.updateTable('consent_events')
      .set({ occurred_at: Date.UTC(2020, 0, 1) })
      .where('business_id', '=', business.id)
      .where('id', '=', a.event.id)
      .execute();
    const io2 = collectingIO();
    const broken = await runVerify(ctx, { business: business.id }, io2);
    assert.equal(broken.exitCode, 1);
    assert.ok(broken.problems.some((p) => p.eventId === a.event.id && p.personId === a.personId));
    assert.match(io2.stdout(), new RegExp(`event ${a.event.id} \\(person ${a.personId}, seq 1\\): .*altered`));
    assert.match(io2.stdout(), /problem\(s\)/);

    const io3 = collectingIO();
    await runVerify(ctx, { business: business.slug, json: true }, io3);
    const json = JSON.parse(io3.stdout()) as { ok: boolean; problems: { eventId: string }[] };
    assert.equal(json.ok, false);
    assert.ok(json.problems.some((p) => p.eventId === a.event.id));
    assert.equal(io3.stderr(), '', '--json prints nothing else');
  });

  it('an unknown business is a one-line error, exit 1', async () => {
    const ctx = testContext(db());
    const io = collectingIO();
    const r = await runVerify(ctx, { business: 'no-such-shop' }, io);
    assert.equal(r.exitCode, 1);
    assert.equal(io.stderr(), 'optline verify: no business with slug or id "no-such-shop"\n');
  });
});
