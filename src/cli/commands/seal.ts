import type { Command } from 'commander';
import type { ServiceContext } from '../../services/context.js';
import { sealLedger } from '../../services/consent/seal-ledger.js';
import { processIO, resolveBusiness, runCommand, type CliIO } from '../run.js';

/**
 * `optline seal [--business <slug|id>] [--full] [--json]`: writes the next seal of each business (or one) over
 * the chains that grew since its newest seal (services/consent/seal-ledger.ts). The server does this on its own every
 * few minutes; run it from cron where no server runs, or before taking a copy of the database. Exit 0 when
 * every grown chain was covered, 2 when some failed their check and were left uncovered (run optline verify),
 * 1 when it could not run.
 */

export interface SealOptions {
  business?: string;
  full?: boolean;
  json?: boolean;
}

export async function runSeal(ctx: ServiceContext, opts: SealOptions, io: CliIO): Promise<number> {
  try {
    const businessId = opts.business ? (await resolveBusiness(ctx, opts.business)).id : undefined;
    const results = await sealLedger(ctx, { ...(businessId ? { businessId } : {}), full: opts.full ?? false });
    const refused = results.reduce((n, r) => n + r.refused.length, 0);
    if (opts.json) io.out.write(`${JSON.stringify({ results })}\n`);
    else {
      for (const r of results) {
        if (r.latest)
          io.out.write(
            `business ${r.businessId}: seal #${r.latest.seq} ${r.latest.hash} (${r.covered} chain head(s) covered)\n`,
          );
        for (const x of r.refused)
          io.out.write(`business ${r.businessId}: person ${x.personId} left unsealed: ${x.problem}\n`);
      }
      io.out.write(
        `${results.filter((r) => r.latest).length} of ${results.length} business(es) sealed; ${refused} chain(s) refused\n`,
      );
    }
    return refused > 0 ? 2 : 0;
  } catch (e) {
    io.err.write(`optline seal: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

export function registerSeal(program: Command): void {
  program
    .command('seal')
    .description(
      'Seal the ledger: commit each business to the head of every chain (keyed), chained to its previous seal',
    )
    .option('--business <slug|id>', 'only this business')
    .option('--full', 'look at every person, not only those with events since the last seal')
    .option('--json', 'print the result as JSON')
    .action(async (opts: SealOptions) => {
      const io = processIO();
      process.exitCode = await runCommand('seal', ({ ctx }) => runSeal(ctx, opts, io), { io });
    });
}
