// The timed part of the import bench, in a process of its own, on the compiled build (dist/) as `optline import`
// runs it: its time and the kernel's peak RSS are the import's alone, without tsx's loader or what earlier benches
// left in the bench process. bench/import.ts prepares the database and the file, starts this and reads its one
// JSON line. Usage: node bench/import-child.mjs '<json: location, businessId, textHash, file, rows>'
import { randomBytes } from 'node:crypto';

const dist = (path) => import(new URL(`../dist/${path}`, import.meta.url).href);
const { loadConfig } = await dist('config.js');
const { boundHeapGrowth } = await dist('lib/heap.js');
const { openSqlite, openPostgres } = await dist('storage/db.js');
const { systemClock } = await dist('lib/clock.js');
const { createKeyring } = await dist('lib/crypto.js');
const { silentLogger } = await dist('lib/logger.js');
const { importConsents } = await dist('services/import/import-consents.js');
const { hashFile } = await dist('services/import/import-file.js');

const { location, businessId, textHash, file, rows } = JSON.parse(process.argv[2]);
// What every `optline` command does first (cli/run.ts), with the defaults an operator gets.
const config = loadConfig({});
boundHeapGrowth(config.heapGrowthPercent);
const database =
  location.dialect === 'sqlite'
    ? openSqlite(location.file)
    : openPostgres(location.url, { schema: location.schema, poolSize: config.dbPoolSize });
try {
  const ctx = { database, clock: systemClock, keyring: createKeyring(randomBytes(32)), logger: silentLogger() };
  const t0 = performance.now();
  const result = await importConsents(ctx, businessId, {
    file,
    fileName: 'consents.csv',
    fileHash: await hashFile(file),
    actor: 'bench',
    defaultTextHash: textHash,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (result.imported !== rows)
    throw new Error(
      `bench import: ${result.imported} of ${rows} rows imported (${result.refused[0]?.reason ?? 'no refusal'})`,
    );
  process.stdout.write(
    `${JSON.stringify({
      seconds,
      rowsPerSecond: Math.round(rows / seconds),
      // The kernel's peak resident set for this process (kB).
      peakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
    })}\n`,
  );
} finally {
  await database.close();
}
