// The import bench in a process of its own (bench/run.ts starts it): its peak RSS is the import's, as a user of
// `optline import` sees it, not what earlier benches left in the bench process's heap. Prints one JSON line.
// Usage: node --import tsx bench/import-process.ts <sqlite|postgres> <rows>
import { benchImport } from './import.js';
import { openBenchDb } from './lib.js';
import type { Dialect_ } from '../src/storage/db.js';
import { loadConfig } from '../src/config.js';
import { boundHeapGrowth } from '../src/lib/heap.js';

const [dialect, rows] = [process.argv[2] as Dialect_, Number(process.argv[3])];
// What every `optline` command does first (cli/run.ts), so the peak is the one `optline import` has.
boundHeapGrowth(loadConfig({}).heapGrowthPercent);
const db = await openBenchDb(dialect);
try {
  process.stdout.write(`${JSON.stringify(await benchImport(db, rows))}\n`);
} finally {
  await db.close();
}
