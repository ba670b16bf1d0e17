import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { ServiceContext } from '../../services/context.js';
import { verifyChains, type ChainProblem } from '../../services/person-history.js';
import { processIO, resolveBusiness, withRuntime, type CliIO } from './import.js';

/**
 * `optline verify [--business <slug>] [--json]`: recomputes every person's hash chain (all businesses, or one)
 * and names each event that was altered, deleted or re-linked. Exit 0 when every chain is intact, 1 when a
 * chain is broken (or the check could not run: the message says which).
 */

export interface VerifyOptions {
  business?: string;
  json?: boolean;
}

export interface VerifyOutcome {
  exitCode: number;
  ok: boolean;
  people: number;
  events: number;
  problems: ChainProblem[];
}

export async function runVerify(ctx: ServiceContext, opts: VerifyOptions, io: CliIO): Promise<VerifyOutcome> {
  const q = ctx.database.db;
  try {
    const businessId = opts.business ? (await resolveBusiness(q, opts.business)).id : undefined;
    let count = q.selectFrom('people').select((eb) => eb.fn.countAll().as('n'));
    if (businessId) count = count.where('business_id', '=', businessId);
    const total = Number((await count.executeTakeFirstOrThrow()).n);
    const progress = startProgress(io, opts, total);
    let result: Awaited<ReturnType<typeof verifyChains>>;
    try {
      result = await verifyChains(q, { ...(businessId ? { businessId } : {}), onProgress: progress.update });
    } finally {
      progress.stop();
    }
    const exitCode = result.ok ? 0 : 1;
    if (opts.json) {
      io.out.write(`${JSON.stringify({ ok: result.ok, people: result.people, events: result.events, problems: result.problems })}\n`);
    } else {
      for (const p of result.problems) io.out.write(`event ${p.eventId ?? '-'} (person ${p.personId}${p.seq !== null ? `, seq ${p.seq}` : ''}): ${p.problem}\n`);
      io.out.write(
        result.ok
          ? `verified ${result.people} people, ${result.events} events: every chain is intact\n`
          : `verified ${result.people} people, ${result.events} events: ${result.problems.length} problem(s): the ledger was changed outside Optline\n`,
      );
    }
    return { exitCode, ...result };
  } catch (e) {
    io.err.write(`optline verify: ${e instanceof Error ? e.message : String(e)}\n`);
    return { exitCode: 1, ok: false, people: 0, events: 0, problems: [] };
  }
}

/** A bar on a terminal; a line every 100,000 people in a log; nothing with --json. */
function startProgress(io: CliIO, opts: VerifyOptions, total: number) {
  if (opts.json) return { update: () => {}, stop: () => {} };
  if (io.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'verifying {bar} {percentage}% | {value}/{total} people', stream: io.err as NodeJS.WriteStream, hideCursor: true },
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
    .description("Check every person's hash chain; exit 1 if any event was altered or deleted")
    .option('--business <slug|id>', 'only this business')
    .option('--json', 'print the result as JSON')
    .action(async (opts: VerifyOptions) => {
      const io = processIO();
      process.exitCode = await withRuntime('verify', io, async (ctx) => (await runVerify(ctx, opts, io)).exitCode);
    });
}
