import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { ServiceContext } from '../../services/context.js';
import { verifyChains, type ChainProblem, type LedgerReport } from '../../services/consent/person-history.js';
import { sealLedger } from '../../services/consent/seal-ledger.js';
import { processIO, resolveBusiness, runCommand, type CliIO } from '../run.js';

/**
 * `optline verify [--business <slug>] [--json] [--seal]`: recomputes every person's keyed hash chain (all
 * businesses, or one) and each business's seal chain, and names each event that was altered, deleted or
 * re-linked, each person deleted after a seal covered them, and each business whose sealed counts no longer
 * hold. Exit 0 when all is intact, 1 otherwise (or when the check could not run: the message says which).
 * With --seal, a clean ledger is then sealed (services/consent/seal-ledger.ts), so what was just verified is covered.
 */

export interface VerifyOptions {
  business?: string;
  json?: boolean;
  seal?: boolean;
}

export interface VerifyOutcome {
  exitCode: number;
  ok: boolean;
  people: number;
  events: number;
  problems: ChainProblem[];
  warnings: string[];
  seals?: LedgerReport['seals'];
}

export async function runVerify(ctx: ServiceContext, opts: VerifyOptions, io: CliIO): Promise<VerifyOutcome> {
  const q = ctx.database.db;
  try {
    const businessId = opts.business ? (await resolveBusiness(ctx, opts.business)).id : undefined;
    let count = q.selectFrom('people').select((eb) => eb.fn.countAll().as('n'));
    if (businessId) count = count.where('business_id', '=', businessId);
    const total = Number((await count.executeTakeFirstOrThrow()).n);
    const progress = startProgress(io, opts, total);
    let result: LedgerReport;
    try {
      result = await verifyChains(q, ctx.keyring.ledger, {
        ...(businessId ? { businessId } : {}),
        now: ctx.clock.now(),
        onProgress: progress.update,
      });
    } finally {
      progress.stop();
    }
    const slugs = new Map(
      (await q.selectFrom('businesses').select(['id', 'slug']).execute()).map((b) => [b.id, b.slug]),
    );
    const name = (id: string) => `business ${slugs.get(id) ?? '(deleted)'} (${id})`;
    let sealed = 0;
    if (opts.seal && result.ok) {
      for (const r of await sealLedger(ctx, businessId ? { businessId } : {})) if (r.latest) sealed += 1;
    }
    const exitCode = result.ok ? 0 : 1;
    if (opts.json) {
      io.out.write(
        `${JSON.stringify({
          ok: result.ok,
          people: result.people,
          events: result.events,
          problems: result.problems,
          warnings: result.warnings,
          seals: result.seals,
        })}\n`,
      );
    } else {
      for (const p of result.problems) {
        io.out.write(
          p.personId === null || p.eventId === null
            ? `${name(p.businessId)}${p.personId ? `, person ${p.personId}` : ''}: ${p.problem}\n`
            : `${name(p.businessId)}: event ${p.eventId} (person ${p.personId}${p.seq !== null ? `, seq ${p.seq}` : ''}): ${p.problem}\n`,
        );
      }
      for (const w of result.warnings) io.err.write(`warning: ${w}\n`);
      const sealedNote = result.seals.filter((s) => s.latest !== null).length;
      io.out.write(
        result.ok
          ? `verified ${result.people} people, ${result.events} events, ${sealedNote} sealed business(es): every chain is intact${opts.seal ? `; ${sealed} business(es) sealed now` : ''}\n`
          : `verified ${result.people} people, ${result.events} events: ${result.problems.length} problem(s): the ledger was changed outside Optline${opts.seal ? ' (nothing was sealed)' : ''}\n`,
      );
    }
    return { exitCode, ...result };
  } catch (e) {
    io.err.write(`optline verify: ${e instanceof Error ? e.message : String(e)}\n`);
    return { exitCode: 1, ok: false, people: 0, events: 0, problems: [], warnings: [] };
  }
}

/** A bar on a terminal; a line every 100,000 people in a log; nothing with --json. */
function startProgress(io: CliIO, opts: VerifyOptions, total: number) {
  if (opts.json) return { update: () => {}, stop: () => {} };
  if (io.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: 'verifying {bar} {percentage}% | {value}/{total} people',
        stream: io.err as NodeJS.WriteStream,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (n: number) => bar.update(n), stop: () => bar.stop() };
  }
  let next = 100_000;
  return {
    update: (n: number) => {
      if (n < next) return;
      io.err.write(`verify: ${n} of ${total} people checked\n`);
      next = (Math.floor(n / 100_000) + 1) * 100_000;
    },
    stop: () => {},
  };
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      "Check every person's keyed hash chain and each business's seals; exit 1 if anything was altered or deleted",
    )
    .option('--business <slug|id>', 'only this business')
    .option('--json', 'print the result as JSON')
    .option('--seal', 'when everything verifies, seal the ledger (see optline seal)')
    .action(async (opts: VerifyOptions) => {
      const io = processIO();
      process.exitCode = await runCommand('verify', async ({ ctx }) => (await runVerify(ctx, opts, io)).exitCode, {
        io,
      });
    });
}
