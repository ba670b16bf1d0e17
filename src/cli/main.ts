#!/usr/bin/env node
import { Command } from 'commander';
import { CONFIG_VARIABLES } from '../config.js';
import { startServer, startWorkerOnly } from '../main.js';
import { describeError } from './run.js';
import { openRuntime } from './runtime.js';
import { registerKeys } from './commands/keys.js';
import { registerCheck } from './commands/check.js';
import { registerMigrate } from './commands/migrate.js';
import { registerSimulate } from './commands/simulate.js';
import { registerImport } from './commands/import.js';
import { registerExport } from './commands/export.js';
import { registerVerify } from './commands/verify.js';
import { registerSeal } from './commands/seal.js';
import { registerVerifyProof } from './commands/verify-proof.js';

const program = new Command();
program
  .name('optline')
  .description('Consent gateway for WhatsApp Business notifications')
  .version('0.1.0')
  .showHelpAfterError();

async function serve(mode: 'start' | 'serve', o: { worker?: boolean }) {
  try {
    const rt = await openRuntime({ allowLocalKey: mode === 'start' });
    const sandbox = rt.config.sandbox ?? mode === 'start';
    const server = await startServer({ config: rt.config, ctx: rt.ctx, demo: mode === 'start', sandbox, worker: o.worker !== false && rt.config.worker.enabled });
    rt.ctx.logger.info({ url: server.url, database: rt.ctx.database.dialect, sandbox }, 'optline listening');
    process.stdout.write(
      `Optline is running at ${server.url} (database: ${rt.ctx.database.dialect}). API docs: ${server.url}/docs\n` +
        (sandbox ? `WhatsApp: sandbox provider at ${server.sandboxUrl} (nothing reaches Meta; set OPTLINE_SANDBOX=false and real credentials to go live)\n` : ''),
    );
    const shutdown = (signal: string) => {
      rt.ctx.logger.info({ signal }, 'stopping');
      server.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  } catch (e) {
    process.stderr.write(`optline: ${describeError(e)}\n`);
    process.exit(1);
  }
}

program
  .command('start')
  .description('laptop mode: SQLite under ./data, a generated master key, a demo business and the sandbox WhatsApp provider')
  .option('--no-worker', 'do not run the dispatch worker in this process')
  .action((o: { worker?: boolean }) => serve('start', o));

program
  .command('serve')
  .description('production server: API, webhooks, pages, console and (unless --no-worker) the dispatch worker; never seeds, needs OPTLINE_MASTER_KEY')
  .option('--no-worker', 'do not run the dispatch worker in this process')
  .action((o: { worker?: boolean }) => serve('serve', o));

program
  .command('worker')
  .description('run the dispatch worker alone (as many as you like against PostgreSQL)')
  .action(async () => {
    try {
      const rt = await openRuntime();
      const worker = await startWorkerOnly(rt.config, rt.ctx);
      process.stdout.write(`Optline worker ${worker.workerId} is dispatching (database: ${rt.ctx.database.dialect}; WhatsApp: ${worker.sandbox ? `sandbox provider at ${worker.apiUrl}, nothing reaches Meta` : worker.apiUrl})\n`);
      const shutdown = () => {
        worker.stop().then(() => rt.close()).then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    } catch (e) {
      process.stderr.write(`optline: ${describeError(e)}\n`);
      process.exit(1);
    }
  });

program
  .command('config')
  .description('list the environment variables Optline reads')
  .action(() => {
    for (const v of CONFIG_VARIABLES) process.stdout.write(`${v.name.padEnd(34)} ${v.default.padEnd(30)} ${v.meaning}\n`);
  });

registerMigrate(program);
registerKeys(program);
registerCheck(program);
registerSimulate(program);
registerImport(program);
registerExport(program);
registerVerify(program);
registerSeal(program);
registerVerifyProof(program);

program.parseAsync(process.argv).catch((e) => {
  process.stderr.write(`optline: ${describeError(e)}\n`);
  process.exit(1);
});
