/** What `importConsents` takes and what it reports. */
import type { RefusedRow } from './import-row.js';

export interface ImportInput {
  /**
   * The CSV file: read, parsed and checked on a worker thread while this thread writes (the fast path, and
   * what the CLI uses). Give either `file` or `rows`.
   */
  file?: string;
  /**
   * Parsed CSV records in file order (csv-parse with `columns`), checked on this thread; a record's row number is its
   * 1-based position.
   */
  rows?: AsyncIterable<Record<string, string | undefined>>;
  fileName: string;
  fileHash: string;
  actor: string;
  defaultCountry?: string;
  defaultTextHash?: string;
  /** Called after each committed batch with the number of rows handled so far and the bytes of the file read. */
  onProgress?: (rows: number, bytesRead: number) => void;
  batchSize?: number;
  /**
   * Queue a WhatsApp confirmation for each person whose state the import changed (rows with
   * confirmation_sent_at excepted). Off unless asked: a migration usually brings people who were confirmed
   * (or never should be messaged) at the source, and 48k unasked messages are not a default.
   */
  confirm?: boolean;
  /**
   * Check and plan every batch in a transaction that is rolled back: the counts, refusals and confirmations
   * are what a real run would give (see DryRunMemory), and nothing is written.
   */
  dryRun?: boolean;
}

export interface ImportResult {
  total: number;
  imported: number;
  duplicates: number;
  refused: RefusedRow[];
  /** Refused rows counted by code. */
  refusedByCode: Partial<Record<RefusedRow['code'], number>>;
  /** WhatsApp confirmations queued (or, in a dry run, that would be queued). */
  confirmations: number;
  dryRun: boolean;
}
