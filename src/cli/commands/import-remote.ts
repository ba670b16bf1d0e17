import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { ImportOptions } from '../../services/import/run-import.js';
import type { ImportJobView } from '../../services/import/import-jobs.js';
import type { CliIO } from '../run.js';
import { printReport } from './import-report.js';

/**
 * `optline import --server URL --key KEY`: the file goes to a running Optline (POST /v1/imports, streamed), which
 * runs the same import; this prints its progress as the server reports it and then the same summary and exit code
 * as a local import. The business is the key's.
 */
export interface RemoteImportInput {
  server: string;
  key: string;
  options: ImportOptions;
  rejects?: string;
  json?: boolean;
  /** Pause between progress polls (tests pass a short one). */
  pollMs?: number;
}

export async function runRemoteImport(file: string, input: RemoteImportInput, io: CliIO): Promise<number> {
  const fileName = basename(file);
  const size = (await stat(file).catch(() => null))?.size;
  if (size === undefined) return fatal(io, `cannot read ${file}: no such file`);
  const base = input.server.replace(/\/$/, '');
  const q = new URLSearchParams({ fileName });
  for (const [k, v] of Object.entries(input.options)) if (v !== undefined && v !== false) q.set(k, String(v));
  const headers = { authorization: `Bearer ${input.key}` };
  const call = async (path: string, init: RequestInit = {}) => {
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { ...headers, ...(init.headers as Record<string, string>) },
      });
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new Error(`cannot reach Optline at ${base} (${code}): is Optline running there?`);
    }
  };
  try {
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream;
    const res = await call(`/v1/imports?${q}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/csv', 'content-length': String(size) },
      duplex: 'half',
    } as RequestInit);
    if (res.status !== 202) return fatal(io, await problemText(res));
    let job = (await res.json()) as ImportJobView;
    if (!input.json) io.err.write(`uploaded ${fileName} (${size} bytes): import ${job.id} ${job.status}\n`);
    let lastRows = -1;
    while (job.status !== 'done' && job.status !== 'failed') {
      await new Promise((r) => setTimeout(r, input.pollMs ?? 500));
      const g = await call(`/v1/imports/${job.id}`);
      if (g.status !== 200) return fatal(io, await problemText(g));
      job = (await g.json()) as ImportJobView;
      if (!input.json && job.rowsRead !== lastRows && job.status === 'running') {
        lastRows = job.rowsRead;
        const pct = job.fileBytes ? ` (${Math.floor((100 * job.bytesRead) / job.fileBytes)}% of the file)` : '';
        io.err.write(`import: ${job.rowsRead} rows handled${pct}\n`);
      }
    }
    if (job.status === 'failed') return fatal(io, `${fileName}: ${job.error ?? 'the import failed'}`);
    if (input.rejects) {
      const r = await call(`/v1/imports/${job.id}/rejects`);
      if (r.status !== 200) return fatal(io, await problemText(r));
      await writeFile(input.rejects, await r.text());
    }
    const c = job.counts;
    if (input.json) io.out.write(`${JSON.stringify({ file: fileName, job })}\n`);
    else
      printReport(
        io,
        fileName,
        { total: job.rowsRead, ...c, refusedByCode: job.refusedByCode, dryRun: job.dryRun },
        input.rejects,
      );
    return c.refused > 0 ? 2 : 0;
  } catch (e) {
    return fatal(io, e instanceof Error ? e.message : String(e));
  }
}

async function problemText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { code?: string; detail?: string; errors?: { field: string }[] };
    const field = p.errors?.[0]?.field;
    return `the server refused the import: ${p.code ?? res.status}: ${p.detail ?? text}${field ? ` (${field})` : ''}`;
  } catch {
    return `the server answered ${res.status}: ${text.slice(0, 200)}`;
  }
}

function fatal(io: CliIO, message: string): number {
  io.err.write(`optline import: ${message}\n`);
  return 1;
}
