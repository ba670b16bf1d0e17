import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Option, type Command } from 'commander';
import type { ServiceContext } from '../../services/context.js';
import { exportHistory, type ExportFormat } from '../../services/consent/export-history.js';
import { exportProof } from '../../services/consent/export-proof.js';
import { processIO, resolveBusiness, runCommand, UserError, type CliIO } from '../run.js';

/**
 * `optline export --business <slug> [--format csv|json] [--since ISO] [--person <id>] [--out file]`: the consent
 * ledger as CSV (spreadsheet-safe, see services/consent/export-history.ts) or JSON lines, to stdout or a file.
 * `optline export --business <slug> --person <id> --proof [--out file]`: the person's signed proof bundle
 * (the same as GET /v1/people/{id}/proof), checked offline with `optline verify-proof`.
 * Exit 0 on success, 1 with a one-line message otherwise.
 */

export interface ExportCommandOptions {
  business: string;
  format?: ExportFormat;
  since?: string;
  person?: string;
  out?: string;
  proof?: boolean;
}

export async function runExport(ctx: ServiceContext, opts: ExportCommandOptions, io: CliIO): Promise<number> {
  try {
    const business = await resolveBusiness(ctx, opts.business);
    let since: number | undefined;
    if (opts.since) {
      since = Date.parse(opts.since);
      if (Number.isNaN(since))
        throw new UserError(`--since "${opts.since}" is not an ISO 8601 date-time (for example 2026-01-01T00:00:00Z)`);
    }
    if (opts.person) {
      const p = await ctx.database.db
        .selectFrom('people')
        .select('id')
        .where('business_id', '=', business.id)
        .where('id', '=', opts.person)
        .executeTakeFirst();
      if (!p) throw new UserError(`no person "${opts.person}" in business ${business.slug}`);
    }
    if (opts.proof && !opts.person)
      throw new UserError('--proof needs --person <id>: a proof bundle is about one person');
    const file = opts.out ? createWriteStream(opts.out) : null;
    if (file) await once(file, 'open');
    const target = file ?? io.out;
    let events: number;
    if (opts.proof) {
      const bundle = await exportProof(ctx, business.id, opts.person!);
      events = bundle.events.length;
      if (!target.write(`${JSON.stringify(bundle)}\n`)) await once(target as NodeJS.EventEmitter, 'drain');
    } else {
      ({ events } = await exportHistory(ctx, business.id, target, {
        format: opts.format ?? 'csv',
        ...(since !== undefined ? { since } : {}),
        ...(opts.person ? { personId: opts.person } : {}),
      }));
    }
    if (file) {
      file.end();
      await once(file, 'finish');
      io.err.write(`exported ${opts.proof ? 'the signed proof of ' : ''}${events} event(s) to ${opts.out}\n`);
    }
    return 0;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg =
      e instanceof UserError
        ? e.message
        : err?.code && opts.out
          ? `cannot write ${opts.out}: ${err.code}`
          : err instanceof Error
            ? err.message
            : String(e);
    io.err.write(`optline export: ${msg}\n`);
    return 1;
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Export the consent ledger of a business as CSV or JSON lines')
    .requiredOption('--business <slug|id>', 'the business')
    .addOption(new Option('--format <format>', 'csv or json (JSON lines)').choices(['csv', 'json']).default('csv'))
    .option('--since <iso>', 'only events recorded at or after this time')
    .option('--person <id>', 'only this person')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--proof', "with --person: the person's signed proof bundle (JSON) instead of ledger rows")
    .action(async (opts: ExportCommandOptions) => {
      const io = processIO();
      process.exitCode = await runCommand('export', ({ ctx }) => runExport(ctx, opts, io), { io });
    });
}
