// The deterministic dispatch simulation (test/e2e/sim/dispatch-simulation.ts) for as many seeds as you like:
//   npm run simulate -- --seeds 1000 [--from 1] [--dialect sqlite|postgres]
// SQLite runs 1 worker; PostgreSQL runs 4 workers sharing a pool, on the server named by
// OPTLINE_TEST_DATABASE_URL (without one it is skipped: PGlite has one connection). Exit code 1 on any violation.
import { parseArgs } from 'node:util';
import { openTestDb, PG_URL } from '../test/helpers/db.js';
import { buildWaTestApp } from '../test/helpers/whatsapp.js';
import { simulate } from '../test/e2e/sim/dispatch-simulation.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '200' },
    from: { type: 'string', default: '1' },
    dialect: { type: 'string' },
  },
});
const seeds = Number(values.seeds);
const from = Number(values.from);
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(from)) {
  process.stderr.write('usage: npm run simulate -- --seeds N [--from S] [--dialect sqlite|postgres]\n');
  process.exit(2);
}
const dialects = (values.dialect ? [values.dialect] : ['sqlite', 'postgres']) as ('sqlite' | 'postgres')[];
let failed = 0;
for (const dialect of dialects) {
  if (dialect === 'postgres' && !PG_URL) {
    process.stdout.write('postgres: skipped (set OPTLINE_TEST_DATABASE_URL to a real PostgreSQL server)\n');
    continue;
  }
  const database = await openTestDb(dialect, { poolSize: 12 });
  const wa = await buildWaTestApp(database);
  const workers = dialect === 'sqlite' ? 1 : 4;
  let calls = 0;
  let optOuts = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const r = await simulate(wa, database, { seed, workers });
    calls += r.calls;
    optOuts += r.optOuts;
    if (r.violations.length) {
      failed++;
      process.stdout.write(
        `${dialect} seed ${seed}: ${r.violations.length} violation(s)\n${r.violations.map((v) => `  ${v}`).join('\n')}\n`,
      );
    }
  }
  process.stdout.write(
    `${dialect}: ${seeds} seeds (${workers} worker${workers > 1 ? 's' : ''}), ${calls} provider calls, ${optOuts} acknowledged opt-outs\n`,
  );
  await wa.close();
  await database.close();
}
process.stdout.write(
  failed ? `${failed} run(s) with violations\n` : 'no violations: G1, no double send, nothing lost, G5\n',
);
process.exit(failed ? 1 : 0);
