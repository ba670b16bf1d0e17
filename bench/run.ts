// npm run bench [-- --json] [--quick] [--only gate,optin,http,import,...] [--dialect sqlite|postgres]
// Every figure is printed beside the floor it is measured against in the same run, as a ratio: the machine
// is small and noisy, so compare ratios, not absolute numbers.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Dialect_ } from '../src/storage/db.js';
import { openBenchDb, pgAvailable, figure, type Figure } from './lib.js';
import { benchGate } from './gate.js';
import { benchOptIn } from './optin.js';
import { benchHttpDecisions } from './http.js';
import { benchImport } from './import.js';
import { benchImportFloor } from './import-floor.js';
import { EXTRA_BENCHES } from './extra.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    dialect: { type: 'string' },
    'import-rows': { type: 'string' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const want = (name: string) => !only || only.has(name);
const ms = values.quick ? 1000 : 3000;
const importRows = Number(values['import-rows'] ?? (values.quick ? 100_000 : 1_000_000));

const dialects: Dialect_[] = [];
if (!values.dialect || values.dialect === 'sqlite') dialects.push('sqlite');
if (!values.dialect || values.dialect === 'postgres') {
  if (await pgAvailable()) dialects.push('postgres');
  else
    process.stderr.write(
      'PostgreSQL not reachable (OPTLINE_BENCH_DATABASE_URL or 127.0.0.1:5432): PostgreSQL figures skipped\n',
    );
}

const figures: Figure[] = [];
function emit(f: Figure) {
  figures.push(f);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(f)}\n`);
    return;
  }
  const ratio = f.ratio === null ? '' : `ratio ${f.ratio.toFixed(2)}`;
  const verdict = f.met === null ? '' : f.met ? 'meets' : 'BELOW';
  process.stdout.write(
    `${`${f.name} [${f.dialect}]`.padEnd(44)} ${String(f.value).padStart(9)} ${f.unit.padEnd(12)}` +
      ` floor ${f.floor === null ? '-' : String(f.floor).padStart(9)} (${f.floorName})  ${ratio}  target ${f.target} ${verdict}` +
      `${
        f.extra
          ? `  ${Object.entries(f.extra)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`
          : ''
      }\n`,
  );
}

/** The import bench runs the compiled build (bench/import-child.mjs): build it from this checkout first. */
function build(): void {
  const r = spawnSync('npm', ['run', '--silent', 'build'], { stdio: ['ignore', 2, 'inherit'] });
  if (r.status !== 0) throw new Error(`npm run build exited with ${r.status ?? r.signal}`);
}

async function withDb<T>(
  dialect: Dialect_,
  fn: (db: Awaited<ReturnType<typeof openBenchDb>>) => Promise<T>,
): Promise<T> {
  const db = await openBenchDb(dialect);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

if (want('import')) build();

for (const d of dialects) {
  if (want('gate')) emit(await withDb(d, (db) => benchGate(db, ms)));
  if (want('optin')) emit(await withDb(d, (db) => benchOptIn(db, ms)));
  if (want('http')) for (const f of await benchHttpDecisions(d, Math.round(ms / 1000) * 2)) emit(f);
  if (want('import')) {
    // The floor: the same rows written by the same multi-row statements, without reading, parsing or checking.
    const f = await withDb(d, (db) => benchImportFloor(db, importRows));
    const r = await withDb(d, (db) => benchImport(db, importRows));
    const targetS = (20 * importRows) / 1_000_000;
    const importFigure = figure({
      name: `import ${importRows.toLocaleString('en')} CSV rows`,
      dialect: d,
      value: Math.round(r.seconds * 10) / 10,
      unit: 's',
      floorName: 'raw multi-row insert of the same rows',
      floor: Math.round(f.seconds * 10) / 10,
      higherIsBetter: false,
      target: `≤ ${targetS} s, ≤ 300 MB`,
      targetMax: targetS,
      extra: { rows_per_s: r.rowsPerSecond, peak_rss_mb: r.peakRssMb },
    });
    emit({ ...importFigure, met: importFigure.met === true && r.peakRssMb <= 300 });
  }
  for (const b of EXTRA_BENCHES)
    if (want(b.name)) for (const f of await b.run(d, { ms, quick: values.quick! })) emit(f);
}

if (!values.json) {
  const below = figures.filter((f) => f.met === false);
  process.stdout.write(
    `\n${figures.length} figures, ${below.length} below target${below.length ? `: ${below.map((f) => `${f.name} [${f.dialect}]`).join(', ')}` : ''}\n`,
  );
}
