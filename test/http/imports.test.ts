import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, type TestApp } from '../helpers/http.js';
import { buildApp } from '../../src/http/app.js';
import { startImportJobRunner } from '../../src/worker/import/job-runner.js';
import { claimImportJob } from '../../src/storage/import/import-job-store.js';
import { IMPORT_LEASE_MS } from '../../src/services/import/import-jobs.js';

const HEADER = 'phone,topics,action,occurred_at,channel';
const csv = (...rows: string[]) => [HEADER, ...rows].join('\n') + '\n';
const row = (phone: string, topic = 'delivery') => `${phone},${topic},checked_box,2026-05-01T09:00:00Z,web`;

forEachDialect('HTTP API: imports (POST /v1/imports, job progress, rejects)', (db) => {
  let t: TestApp;
  let a: { id: string; key: string; textHash: string };
  const upload = (body: string, query = '', key = a.key, type = 'text/csv') =>
    t.app.inject({
      method: 'POST',
      url: `/v1/imports${query}`,
      headers: { authorization: `Bearer ${key}`, 'content-type': type },
      payload: body,
    });
  before(async () => {
    t = await buildTestApp(db());
    a = await t.newBusiness('Imports');
  });
  after(async () => {
    await t.app.close();
  });

  it('the CSV is stored as a queued job (202), run by the runner, and its result and rejects are there to read', async () => {
    const body = csv(
      row('+447911123456'),
      row('+447911123457', 'billing'),
      row('not a number'),
      row('+447911123458', 'nope'),
    );
    const r = await upload(body, `?text=${a.textHash}&fileName=crm-export.csv`);
    assert.equal(r.statusCode, 202, r.body);
    const job = r.json();
    assert.equal(job.status, 'queued');
    assert.equal(job.fileName, 'crm-export.csv');
    assert.equal(job.fileBytes, Buffer.byteLength(body));
    assert.equal(r.headers.location, `/v1/imports/${job.id}`);
    const early = await t.call('GET', `/v1/imports/${job.id}/rejects`, a.key);
    assert.equal(early.statusCode, 409);
    assert.equal(early.json().code, 'CONFLICT');

    const runner = startImportJobRunner(t.ctx, { poll: false });
    assert.equal(await runner.drain(), 1);
    await runner.stop();
    const done = (await t.call('GET', `/v1/imports/${job.id}`, a.key)).json();
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.equal(done.rowsRead, 4);
    assert.equal(done.bytesRead, done.fileBytes);
    assert.deepEqual(done.counts, { imported: 2, duplicates: 0, refused: 2, confirmations: 0 });
    assert.deepEqual(done.refusedByCode, { INVALID_PHONE: 1, UNKNOWN_TOPIC: 1 });
    const rejects = await t.call('GET', `/v1/imports/${job.id}/rejects`, a.key);
    assert.equal(rejects.statusCode, 200);
    assert.match(rejects.headers['content-type'] as string, /^text\/csv/);
    const lines = rejects.body.trim().split('\n');
    assert.equal(lines[0], 'row,code,field,reason');
    assert.match(lines[1]!, /^3,INVALID_PHONE,phone,/);
    assert.match(lines[2]!, /^4,UNKNOWN_TOPIC,topics,/);
    // The ledger has the imported people; the same file again is all duplicates.
    const people = (await t.call('GET', '/v1/people?phone=%2B447911123457', a.key)).json();
    assert.equal(people.data.length, 1);
    const again = (await upload(body, `?text=${a.textHash}`)).json();
    await startImportJobRunner(t.ctx, { poll: false }).drain();
    assert.deepEqual((await t.call('GET', `/v1/imports/${again.id}`, a.key)).json().counts, {
      imported: 0,
      duplicates: 2,
      refused: 2,
      confirmations: 0,
    });
  });

  it('kind=opt-outs imports a STOP list through the same import, and the gate refuses the number afterwards', async () => {
    const r = await upload('phone\n+447911123456\n', '?kind=opt-outs');
    assert.equal(r.statusCode, 202, r.body);
    await startImportJobRunner(t.ctx, { poll: false }).drain();
    const job = (await t.call('GET', `/v1/imports/${r.json().id}`, a.key)).json();
    assert.equal(job.status, 'done', JSON.stringify(job));
    assert.equal(job.counts.imported, 1);
    const d = await t.call('POST', '/v1/decisions', a.key, { person: { phone: '+447911123456' }, topic: 'delivery' });
    assert.equal(d.json().allowed, false, d.body);
  });

  it('a dry run counts and writes nothing', async () => {
    const r = await upload(csv(row('+447911123499')), `?text=${a.textHash}&dryRun=true`);
    await startImportJobRunner(t.ctx, { poll: false }).drain();
    const job = (await t.call('GET', `/v1/imports/${r.json().id}`, a.key)).json();
    assert.equal(job.dryRun, true);
    assert.equal(job.counts.imported, 1);
    assert.equal((await t.call('GET', '/v1/people?phone=%2B447911123499', a.key)).json().data.length, 0);
  });

  it('bad input is refused with a stable code naming the field; a read key cannot import; other businesses see nothing', async () => {
    const json = await t.call('POST', '/v1/imports', a.key, { rows: [] });
    assert.equal(json.statusCode, 415);
    assert.equal(json.json().code, 'UNSUPPORTED_MEDIA_TYPE');
    const fmt = await upload(csv(row('+447911123456')), '?format=twilio');
    assert.equal(fmt.statusCode, 400);
    assert.equal(fmt.json().code, 'VALIDATION_FAILED');
    assert.equal(fmt.json().errors[0].field, 'format');
    const map = await upload('Phone\n+447911123456\n', '?kind=opt-outs&map=number');
    assert.equal(map.json().errors[0].field, 'map');
    const unknown = await upload(csv(row('+447911123456')), '?confirmed=true');
    assert.equal(unknown.statusCode, 400);
    const empty = await upload('', '');
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().errors[0].field, 'body');
    const read = (await t.call('POST', '/v1/keys', a.key, { name: 'reader', role: 'read' })).json().key as string;
    assert.equal((await upload(csv(row('+447911123456')), '', read)).statusCode, 403);
    const mine = (await upload(csv(row('+447911123456')), `?text=${a.textHash}`)).json();
    const b = await t.newBusiness('Other');
    assert.equal((await t.call('GET', `/v1/imports/${mine.id}`, b.key)).statusCode, 404);
    assert.equal((await t.call('GET', `/v1/imports/${mine.id}/rejects`, b.key)).statusCode, 404);
    assert.equal((await t.call('GET', '/v1/imports/imp_00000000000000000000000000', a.key)).json().code, 'NOT_FOUND');
    await startImportJobRunner(t.ctx, { poll: false }).drain();
  });

  it('a body over OPTLINE_IMPORT_BODY_LIMIT_BYTES is refused with 413 and its job is failed, nothing kept', async () => {
    const small = await buildApp({
      ctx: t.ctx,
      config: {
        bodyLimitBytes: 1024 * 1024,
        webhookBodyLimitBytes: 1024 * 1024,
        publicUrl: 'http://localhost:8080',
        importBodyLimitBytes: 2048,
      },
    });
    try {
      const big = csv(...Array.from({ length: 100 }, (_, i) => row(`+4479111${String(i).padStart(5, '0')}`)));
      const r = await small.inject({
        method: 'POST',
        url: '/v1/imports',
        headers: { authorization: `Bearer ${a.key}`, 'content-type': 'text/csv' },
        payload: big,
      });
      assert.equal(r.statusCode, 413, r.body);
      assert.equal(r.json().code, 'BODY_TOO_LARGE');
      assert.equal(r.json().errors[0].field, 'body');
      const chunks = await t.ctx.database.db.selectFrom('import_job_chunks').select('job_id').execute();
      assert.equal(chunks.length, 0);
    } finally {
      await small.close();
    }
  });

  it('a job whose process stopped is taken again once its lease ran out, and finishes (the re-run skips what was recorded)', async () => {
    const r = await upload(csv(row('+447911123470'), row('+447911123471')), `?text=${a.textHash}`);
    // A process claims it and dies before finishing: the job stays running under its lease.
    const claimed = await claimImportJob(t.ctx.database.db, t.ctx.clock.now(), IMPORT_LEASE_MS);
    assert.equal(claimed?.id, r.json().id);
    assert.equal(await startImportJobRunner(t.ctx, { poll: false }).drain(), 0, 'not taken while the lease holds');
    t.ctx.clock.advance(IMPORT_LEASE_MS + 1);
    assert.equal(await startImportJobRunner(t.ctx, { poll: false }).drain(), 1);
    const job = (await t.call('GET', `/v1/imports/${r.json().id}`, a.key)).json();
    assert.equal(job.status, 'done');
    assert.equal(job.attempts, 2);
    assert.equal(job.counts.imported, 2);
  });
});
