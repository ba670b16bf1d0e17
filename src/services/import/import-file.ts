import { createReadStream, type ReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse';

/** SHA-256 of the file's bytes: kept in every imported event's evidence. */
export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The file's records as csv-parse reads them: header row as column names (trimmed, lower case), BOM dropped.
 * Nothing is read until the records are iterated, so a parse error always has a reader to land on.
 */
export function readCsv(file: string): { records: AsyncIterable<Record<string, string>>; bytesRead: () => number } {
  let stream: ReadStream | null = null;
  async function* records(): AsyncGenerator<Record<string, string>> {
    stream = createReadStream(file, { highWaterMark: 256 * 1024 });
    const parser = stream.pipe(
      parse({
        columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
        bom: true,
        trim: true,
        skip_empty_lines: true,
      }),
    );
    stream.on('error', (e) => parser.destroy(e));
    try {
      yield* parser;
    } finally {
      stream.destroy(); // a parse error leaves the file piped into nothing: close it
    }
  }
  return { records: records(), bytesRead: () => stream?.bytesRead ?? 0 };
}
