import type { RefusedRow } from './import-row.js';

/** RFC 4180: a cell with a comma, quote or line break is quoted, quotes doubled. */
const csvCell = (v: string | number) => {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The refused rows of an import as CSV (row, code, field, reason): the CLI's --rejects file and the API's rejects. */
export function rejectsCsv(refused: readonly RefusedRow[]): string {
  return (
    ['row,code,field,reason', ...refused.map((r) => [r.row, r.code, r.field, r.reason].map(csvCell).join(','))].join(
      '\n',
    ) + '\n'
  );
}
