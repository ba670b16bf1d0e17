/**
 * The deterministic simulation (dispatch-simulation.ts), 200 seeds in all: 1 worker on SQLite, 4 workers
 * sharing a pool on PostgreSQL. Every run must keep G1 (no call after an acknowledged opt-out), send nothing
 * twice, lose nothing, and keep its message times consistent (G5). More seeds: `npm run simulate -- --seeds N`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../../../src/storage/db.js';
import { openTestDb, PG_URL } from '../../helpers/db.js';
import { buildWaTestApp, type WaTestApp } from '../../helpers/whatsapp.js';
import { simulate } from './dispatch-simulation.js';

export const SQLITE_SEEDS = 120;
export const POSTGRES_SEEDS = 80;

function suite(name: string, o: { dialect: 'sqlite' | 'postgres'; workers: number; seeds: number; skip?: boolean }) {
  describe(name, { skip: o.skip }, () => {
    let database: Database;
    let wa: WaTestApp;
    before(async () => {
      database = await openTestDb(o.dialect, { poolSize: 12 });
      wa = await buildWaTestApp(database);
    });
    after(async () => {
      await wa?.close();
      await database?.close();
    });
    it(`${o.seeds} seeded runs: G1, no double send, nothing lost, G5`, { timeout: 600_000 }, async (t) => {
      let calls = 0;
      let stopped = 0;
      let optOuts = 0;
      for (let seed = 1; seed <= o.seeds; seed++) {
        const r = await simulate(wa, database, { seed, workers: o.workers });
        assert.deepEqual(r.violations, [], `seed ${seed}`);
        calls += r.calls;
        stopped += r.stoppedBeforeCall;
        optOuts += r.optOuts;
      }
      t.diagnostic(
        `${o.seeds} seeds: ${calls} provider calls, ${optOuts} acknowledged opt-outs, ${stopped} claimed messages stopped at the last re-check`,
      );
      assert.ok(optOuts > o.seeds / 2 && stopped > 0, 'the races were exercised');
    });
  });
}

suite('simulation: opt-outs racing dispatch, 1 worker [sqlite]', {
  dialect: 'sqlite',
  workers: 1,
  seeds: SQLITE_SEEDS,
});
suite('simulation: opt-outs racing dispatch, 4 workers sharing a pool [postgres] (needs a real PostgreSQL server)', {
  dialect: 'postgres',
  workers: 4,
  seeds: POSTGRES_SEEDS,
  skip: !PG_URL,
});
