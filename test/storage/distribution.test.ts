import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { forEachDialect } from '../helpers/db.js';
import type { Database } from '../../src/storage/db.js';
import * as m0010 from '../../src/storage/migrations/0010-distribution-keys.js';

// docs/scale-out.md is the one place that says which tables are reference tables and which are distributed.
// Its DDL is the first sql block (the prose after it may mention other calls).
const doc = readFileSync(new URL('../../docs/scale-out.md', import.meta.url), 'utf8');
const ddl = /```sql\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
const REFERENCE = new Set([...ddl.matchAll(/create_reference_table\('(\w+)'\)/g)].map((m) => m[1]!));
const DISTRIBUTED = new Map(
  [...ddl.matchAll(/create_distributed_table\('(\w+)', '(\w+)'/g)].map((m) => [m[1]!, m[2]!]),
);

interface Table {
  name: string;
  columns: string[];
  unique: { index: string; columns: string[] }[];
}

/** The migrated schema as the database itself reports it: tables, columns, primary keys and unique indexes. */
async function introspect(database: Database): Promise<Table[]> {
  const db = database.db;
  if (database.dialect === 'sqlite') {
    const tables = await sql<{ name: string }>`SELECT name FROM sqlite_master
      WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db);
    const out: Table[] = [];
    for (const { name } of tables.rows) {
      const cols = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${name})`.execute(db);
      const idx = await sql<{ name: string; unique: number }>`SELECT name, "unique"
        FROM pragma_index_list(${name})`.execute(db);
      const unique = [];
      for (const i of idx.rows.filter((r) => Number(r.unique) === 1)) {
        const ic = await sql<{ name: string }>`SELECT name FROM pragma_index_info(${i.name})`.execute(db);
        unique.push({ index: i.name, columns: ic.rows.map((c) => c.name) });
      }
      out.push({ name, columns: cols.rows.map((c) => c.name), unique });
    }
    return out;
  }
  const cols = await sql<{ t: string; c: string }>`SELECT table_name AS t, column_name AS c
    FROM information_schema.columns WHERE table_schema = current_schema()`.execute(db);
  const idx = await sql<{ t: string; i: string; c: string }>`SELECT t.relname AS t, ic.relname AS i, a.attname AS c
    FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class ic ON ic.oid = x.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
    WHERE x.indisunique AND n.nspname = current_schema()`.execute(db);
  const byTable = new Map<string, Table>();
  for (const r of cols.rows) {
    const t = byTable.get(r.t) ?? { name: r.t, columns: [], unique: [] };
    t.columns.push(r.c);
    byTable.set(r.t, t);
  }
  for (const r of idx.rows) {
    const t = byTable.get(r.t)!;
    const u = t.unique.find((x) => x.index === r.i) ?? t.unique[t.unique.push({ index: r.i, columns: [] }) - 1]!;
    u.columns.push(r.c);
  }
  return [...byTable.values()];
}

forEachDialect('storage: distributable by business (docs/scale-out.md)', (db) => {
  it('every unique index and primary key includes business_id, except on the documented reference tables', async () => {
    const tables = await introspect(db());
    const names = tables.map((t) => t.name);
    assert.ok(names.includes('people') && names.includes('key_lookup'), 'the schema was read');
    const offending: string[] = [];
    for (const t of tables) {
      if (REFERENCE.has(t.name)) continue;
      for (const u of t.unique) {
        if (!u.columns.includes('business_id')) offending.push(`${t.name}.${u.index}(${u.columns.join(', ')})`);
      }
    }
    assert.deepEqual(offending, [], 'unique without business_id on a table not listed as a reference table');
    // The two that did before migration 0010, and the lookups that replace them.
    const unique = (name: string) => tables.find((t) => t.name === name)!.unique.map((u) => u.columns.join(','));
    assert.ok(!unique('api_keys').includes('key_hash') && !unique('channel_accounts').includes('provider,external_id'));
    assert.ok(unique('key_lookup').includes('key_hash'));
    assert.deepEqual(
      unique('channel_routes').map((c) => c.split(',').sort().join(',')),
      ['external_id,provider'],
    );
  });

  it('the Citus DDL places every table: reference, or distributed by a business_id column it has', async () => {
    const tables = await introspect(db());
    const unplaced = tables.filter((t) => !REFERENCE.has(t.name) && !DISTRIBUTED.has(t.name)).map((t) => t.name);
    assert.deepEqual(unplaced, [], 'tables docs/scale-out.md neither distributes nor replicates');
    for (const t of tables) {
      if (!DISTRIBUTED.has(t.name)) continue;
      assert.equal(DISTRIBUTED.get(t.name), 'business_id', `${t.name} is distributed by business_id`);
      assert.ok(t.columns.includes('business_id'), `${t.name} has a business_id column`);
      assert.ok(!REFERENCE.has(t.name), `${t.name} is placed once`);
    }
  });

  it('migration 0010 fills key_lookup and channel_routes from the keys and accounts that existed', async () => {
    const q = db().db;
    await m0010.down(q);
    const now = 1_780_000_000_000;
    const key = { name: 'k', prefix: 'olk_abc', created_at: now, last_used_at: null, revoked_at: null };
    await sql`INSERT INTO api_keys (business_id, id, name, prefix, key_hash, created_at, role)
      VALUES ('biz_m1', 'key_m1', ${key.name}, ${key.prefix}, 'hash-m1', ${now}, 'write')`.execute(q);
    const accounts = [
      ['biz_m1', 'cha_1', 'whatsapp_cloud', 'pn-1'],
      ['biz_m2', 'cha_2', 'twilio', '+15550001'],
      ['biz_m2', 'cha_3', 'smtp', null],
    ] as const;
    for (const [b, id, provider, ext] of accounts) {
      await sql`INSERT INTO channel_accounts (business_id, id, provider, external_id, settings, created_at, updated_at)
        VALUES (${b}, ${id}, ${provider}, ${ext}, '{}', ${now}, ${now})`.execute(q);
    }
    await m0010.up(q);
    const keys = await q.selectFrom('key_lookup').selectAll().where('key_hash', '=', 'hash-m1').execute();
    assert.deepEqual(keys, [{ key_hash: 'hash-m1', business_id: 'biz_m1', key_id: 'key_m1' }]);
    const routes = await q
      .selectFrom('channel_routes')
      .selectAll()
      .where('business_id', 'in', ['biz_m1', 'biz_m2'])
      .orderBy('account_id')
      .execute();
    assert.deepEqual(routes, [
      { provider: 'whatsapp_cloud', external_id: 'pn-1', business_id: 'biz_m1', account_id: 'cha_1' },
      { provider: 'twilio', external_id: '+15550001', business_id: 'biz_m2', account_id: 'cha_2' },
    ]);
  });
});
