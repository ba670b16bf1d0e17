import { parentPort, workerData } from 'node:worker_threads';
import { CsvError } from 'csv-parse';
import { AppError } from '../../domain/errors.js';
import { readCsv } from '../../services/import/import-file.js';
import { checkBatches, type CheckedBatch, type RowContext } from '../../services/import/import-row.js';

/**
 * Worker thread of `optline import`: reads, parses and checks the CSV (phone parsing is most of an import's
 * CPU) while the main thread writes the batches before. It holds no secret and no database handle: rows go
 * back without the keyed phone hash and with topic keys only, and the main thread completes them.
 *
 * Flow control: at most `window` batches are sent ahead; each batch the main thread takes returns one credit.
 */
/** The row context without the keyed phone hash (the worker holds no secret), and what to read. */
export type CheckWorkerInput = Omit<RowContext, 'phoneHash'> & { file: string; batchSize: number; window: number };

export type CheckWorkerMessage = { batch: CheckedBatch } | { done: true } | { error: SerialisedError };

export type SerialisedError =
  | { kind: 'app'; code: AppError['code']; message: string; problems: AppError['problems']; extra: AppError['extra'] }
  | { kind: 'csv'; code: string; message: string }
  | { kind: 'other'; code?: string; message: string };

export function serialiseError(e: unknown): SerialisedError {
  if (e instanceof AppError)
    return { kind: 'app', code: e.code, message: e.message, problems: e.problems, extra: e.extra };
  if (e instanceof CsvError) return { kind: 'csv', code: e.code, message: e.message };
  const err = e as NodeJS.ErrnoException;
  return {
    kind: 'other',
    ...(typeof err?.code === 'string' ? { code: err.code } : {}),
    message: err instanceof Error ? err.message : String(e),
  };
}

export function reviveError(e: SerialisedError): Error {
  if (e.kind === 'app') return new AppError(e.code, e.message, e.problems, e.extra);
  if (e.kind === 'csv') return new CsvError(e.code as ConstructorParameters<typeof CsvError>[0], e.message);
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

async function run(port: NonNullable<typeof parentPort>, input: CheckWorkerInput): Promise<void> {
  let credits = input.window;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    credits += 1;
    wake?.();
    wake = null;
  });
  const { records, bytesRead } = readCsv(input.file);
  const { file: _file, batchSize: _batchSize, window: _window, ...context } = input;
  const rc: RowContext = { ...context, phoneHash: () => '' };
  try {
    for await (const batch of checkBatches(records, rc, input.batchSize, bytesRead)) {
      while (credits === 0) await new Promise<void>((r) => (wake = r));
      credits -= 1;
      // Topic objects are the main thread's own; only their keys cross.
      for (const row of batch.ready) row.topics = [];
      port.postMessage({ batch } satisfies CheckWorkerMessage);
    }
    port.postMessage({ done: true } satisfies CheckWorkerMessage);
  } catch (e) {
    port.postMessage({ error: serialiseError(e) } satisfies CheckWorkerMessage);
  }
  port.removeAllListeners('message'); // lets the thread end
}

if (parentPort && workerData) void run(parentPort, workerData as CheckWorkerInput);
