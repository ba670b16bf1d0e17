import { it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../../helpers/db.js';
import { commitThenSync } from '../../../src/storage/sqlite/deferred-sync.js';

forEachDialect('commitThenSync', (db, dialect) => {
  const row = (key: string) => ({
    business_id: 'b',
    id: key,
    provider: 'test',
    dedupe_key: key,
    kind: 'message',
    payload: '{}',
    received_at: 1,
    processed_at: null,
    outcome: null,
    attempts: 0,
  });

  it('commits; no other transaction ever runs with the relaxed setting; the setting is back after a failure', async () => {
    const raw = db().sqlite;
    const sync = () => (raw ? Number(raw.pragma('synchronous', { simple: true })) : null);
    const before = sync();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: (number | null)[] = [];
    const deferred = commitThenSync(db(), async (trx) => {
      seen.push(sync());
      await trx.insertInto('inbox').values(row('cts-1')).execute();
      await gate; // another transaction asks for the connection meanwhile
    });
    const other = db().transaction(async (trx) => {
      seen.push(sync());
      await trx.insertInto('inbox').values(row('cts-2')).execute();
    });
    setTimeout(release, 20);
    await Promise.all([deferred, other]);
    if (dialect === 'sqlite')
      assert.deepEqual(seen, [1, before], 'NORMAL inside, the connection setting (FULL) for the next one');
    await assert.rejects(
      commitThenSync(db(), async (trx) => {
        await trx.insertInto('inbox').values(row('cts-3')).execute();
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(sync(), before);
    const ids = (
      await db().db.selectFrom('inbox').select('id').where('business_id', '=', 'b').orderBy('id').execute()
    ).map((r) => r.id);
    assert.deepEqual(ids, ['cts-1', 'cts-2'], 'the failed one rolled back');
  });
});
