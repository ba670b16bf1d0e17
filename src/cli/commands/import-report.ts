import type { ImportResult, RefusedRow } from '../../services/import/import-consents.js';
import type { CliIO } from '../run.js';
import { count } from '../plural.js';

/** Refused rows printed on the terminal; the rest are in the summary by code and the rejects file. */
const PRINTED_REFUSALS = 20;

/** What `optline import` prints at the end, whether the import ran here or on a server. */
export interface ReportedResult {
  total: number;
  imported: number;
  duplicates: number;
  refused: number;
  refusedByCode: Partial<Record<string, number>>;
  confirmations: number;
  dryRun: boolean;
  /** The first refused rows, when known here (a server gives them as the rejects CSV). */
  rows?: readonly RefusedRow[];
}

export const reported = (r: ImportResult): ReportedResult => ({
  total: r.total,
  imported: r.imported,
  duplicates: r.duplicates,
  refused: r.refused.length,
  refusedByCode: r.refusedByCode,
  confirmations: r.confirmations,
  dryRun: r.dryRun,
  rows: r.refused,
});

export function summaryLine(fileName: string, r: ReportedResult): string {
  const confirmations = `${count(r.confirmations, 'WhatsApp confirmation')} ${r.dryRun ? 'would be ' : ''}queued`;
  const rows = count(r.total, 'row');
  if (r.dryRun) {
    return `${fileName} (dry run, nothing written): ${rows}: ${r.imported} would be imported, ${r.duplicates} already there, ${r.refused} refused; ${confirmations}\n`;
  }
  return `${fileName}: ${rows}: ${r.imported} imported, ${r.duplicates} already there, ${r.refused} refused; ${confirmations}\n`;
}

export function printReport(io: CliIO, fileName: string, r: ReportedResult, rejectsFile?: string): void {
  io.out.write(summaryLine(fileName, r));
  const codes = Object.entries(r.refusedByCode).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0) || a[0].localeCompare(b[0]));
  if (codes.length) io.out.write(`refused by code: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}\n`);
  const rows = r.rows ?? [];
  for (const x of rows.slice(0, PRINTED_REFUSALS)) io.out.write(`row ${x.row}: ${x.code} (${x.field}): ${x.reason}\n`);
  const more = r.refused - Math.min(rows.length, PRINTED_REFUSALS);
  if (more > 0)
    io.out.write(
      `... and ${count(more, 'more refused row')}${rejectsFile ? `, all in ${rejectsFile}` : '; --rejects file.csv writes every one'}\n`,
    );
  else if (rejectsFile && r.refused) io.out.write(`refused rows written to ${rejectsFile}\n`);
}
