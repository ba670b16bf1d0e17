import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { openFromConfig } from '../../storage/db.js';
import { migrateToLatest, migrationStatus } from '../../storage/migrate.js';
import { describeError } from '../run.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('bring the database schema up to date (under a lock), reporting each step')
    .option('--status', 'only list migrations and whether each has run')
    .action(async (o: { status?: boolean }) => {
      let code = 0;
      const database = (() => {
        try {
          return openFromConfig(loadConfig());
        } catch (e) {
          process.stderr.write(`optline: ${describeError(e)}\n`);
          return null;
        }
      })();
      if (!database) {
        process.exitCode = 1;
        return;
      }
      try {
        if (o.status) {
          for (const m of await migrationStatus(database)) {
            process.stdout.write(
              `${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  (${m.executedAt.toISOString()})` : ''}\n`,
            );
          }
        } else {
          const r = await migrateToLatest(database);
          for (const s of r.steps)
            process.stdout.write(`${s.status === 'Success' ? 'applied' : s.status.toLowerCase()}  ${s.name}\n`);
          if (r.steps.length === 0 && !r.error) process.stdout.write(`schema is up to date (${database.dialect})\n`);
          if (r.error) {
            process.stderr.write(`optline: migration failed: ${r.error}\n`);
            code = 1;
          }
        }
      } catch (e) {
        process.stderr.write(`optline: ${describeError(e)}\n`);
        code = 1;
      } finally {
        await database.close();
      }
      process.exitCode = code;
    });
}
