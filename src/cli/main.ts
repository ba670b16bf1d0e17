#!/usr/bin/env node
import { Command } from 'commander';
import { CONFIG_VARIABLES } from '../config.js';
import { describeError, runCommand } from './run.js';
import { registerKeys } from './commands/keys.js';
import { registerCheck } from './commands/check.js';
import { registerMigrate } from './commands/migrate.js';
import { registerSimulate } from './commands/simulate.js';
import { registerImport } from './commands/import.js';
import { registerExport } from './commands/export.js';
import { registerVerify } from './commands/verify.js';
import { registerSeal } from './commands/seal.js';
import { registerVerifyProof } from './commands/verify-proof.js';
import { runConfig } from './commands/config.js';

// `optline export | head`: the reader went away; stop quietly, as other Unix tools do, instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const program = new Command();
program
  .name('optline')
  .description('Consent gateway for WhatsApp Business notifications')
  .version('0.1.0')
  .showHelpAfterError();

/** Resolves with the exit code once SIGINT or SIGTERM has stopped what `stop` stops. */
function untilSignal(logger: { info(o: object, m: string): void }, stop: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping');
      stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

async function serve(mode: 'start' | 'serve', o: { worker?: boolean }): Promise<never> {
  const code = await runCommand(
    mode,
    async (rt) => {
      const sandbox = rt.config.sandbox ?? mode === 'start';
      const worker = o.worker !== false && rt.config.worker.enabled;
      // The server (and everything it loads) only for the commands that run it: the other commands start faster.
      const { startServer } = await import('../main.js');
      const server = await startServer({ config: rt.config, ctx: rt.ctx, demo: mode === 'start', sandbox, worker });
      rt.ctx.logger.info({ url: server.url, database: rt.ctx.database.dialect, sandbox }, 'optline listening');
      process.stdout.write(
        `Optline is running at ${server.url} (database: ${rt.ctx.database.dialect}). API docs: ${server.url}/docs\n` +
          (sandbox
            ? `WhatsApp: sandbox provider at ${server.sandboxUrl} (nothing reaches Meta; set OPTLINE_SANDBOX=false and real credentials to go live)\n`
            : ''),
      );
      return untilSignal(rt.ctx.logger, () => server.stop());
    },
    { allowLocalKey: mode === 'start', schema: 'migrate', verbose: true },
  );
  process.exit(code);
}

program
  .command('start')
  .description(
    'laptop mode: SQLite under ./data, a generated master key, a demo business and the sandbox WhatsApp provider',
  )
  .option('--no-worker', 'do not run the dispatch worker in this process')
  .action((o: { worker?: boolean }) => serve('start', o));

program
  .command('serve')
  .description(
    'production server: API, webhooks, pages, console and (unless --no-worker) the dispatch worker; never seeds, needs OPTLINE_MASTER_KEY',
  )
  .option('--no-worker', 'do not run the dispatch worker in this process')
  .action((o: { worker?: boolean }) => serve('serve', o));

program
  .command('worker')
  .description('run the dispatch worker alone (as many as you like against PostgreSQL)')
  .action(async () => {
    const code = await runCommand(
      'worker',
      async (rt) => {
        const { startWorkerOnly } = await import('../main.js');
        const worker = await startWorkerOnly(rt.config, rt.ctx);
        const where = worker.sandbox ? `sandbox provider at ${worker.apiUrl}, nothing reaches Meta` : worker.apiUrl;
        process.stdout.write(
          `Optline worker ${worker.workerId} is dispatching (database: ${rt.ctx.database.dialect}; WhatsApp: ${where})\n`,
        );
        return untilSignal(rt.ctx.logger, () => worker.stop());
      },
      { verbose: true },
    );
    process.exit(code);
  });

program
  .command('config')
  .description('the settings in effect, where each came from (environment, default, key file), secrets masked')
  .option('--list', 'list the environment variables Optline reads, with their defaults and meaning')
  .action((o: { list?: boolean }) => {
    if (!o.list) {
      process.exitCode = runConfig(process.env, { out: process.stdout, err: process.stderr, isTTY: false });
      return;
    }
    for (const v of CONFIG_VARIABLES)
      process.stdout.write(`${v.name.padEnd(34)} ${v.default.padEnd(30)} ${v.meaning}\n`);
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
