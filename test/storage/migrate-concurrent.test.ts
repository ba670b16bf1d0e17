import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgres } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { CurrentSchemaIntrospector } from '../../src/storage/postgres/introspector.js';
import { PG_URL } from '../helpers/db.js';

// Several deployments (or test runs) share one PostgreSQL server, each in its own schema. Migrating one must not
// trip over another being dropped at the same moment (Kysely's stock introspector looks every schema up by name
// and failed with `schema "…" does not exist` in exactly that case).
test(
  'migrations succeed while other schemas on the same server are being dropped',
  { skip: PG_URL ? false : 'needs a PostgreSQL server (OPTLINE_TEST_DATABASE_URL)' },
  async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const mk = async (): Promise<string> => {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      return schema;
    };
    try {
      for (let round = 0; round < 3; round++) {
        // Victims: schemas full of tables, like another migrated deployment.
        const victims: string[] = [];
        for (let i = 0; i < 6; i++) {
          const s = await mk();
          const d = openPostgres(PG_URL, { schema: s, poolSize: 1 });
          const r = await migrateToLatest(d);
          await d.close();
          assert.equal(r.error, undefined);
          victims.push(s);
        }
        const fresh = [await mk(), await mk(), await mk()];
        const dbs = fresh.map((s) => openPostgres(PG_URL, { schema: s, poolSize: 2 }));
        const dropper = new pg.Client({ connectionString: PG_URL });
        await dropper.connect();
        const drops = (async () => {
          for (const v of victims) await dropper.query(`DROP SCHEMA ${v} CASCADE`);
        })();
        const reports = await Promise.all(dbs.map((d) => migrateToLatest(d)));
        await drops;
        await dropper.end();
        for (const r of reports) assert.equal(r.error, undefined, `migration failed: ${r.error}`);
        // Only the current schema's tables are reported.
        const tables = await new CurrentSchemaIntrospector(dbs[0]!.db as never).getTables();
        assert.ok(tables.length > 10);
        assert.ok(tables.every((t) => t.schema === fresh[0]));
        for (const d of dbs) await d.close();
        for (const s of fresh) await admin.query(`DROP SCHEMA ${s} CASCADE`);
      }
    } finally {
      await admin.end();
    }
  },
);
