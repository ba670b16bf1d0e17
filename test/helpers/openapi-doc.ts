import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/main.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { openSqlite } from '../../src/storage/db.js';
import { testContext } from './context.js';

/** The /openapi.json of the whole process (API, webhooks, pages), as `optline serve` composes it. */
export async function fetchServedOpenApi(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'optline-openapi-'));
  const database = openSqlite(join(dir, 'o.db'));
  try {
    await migrateToLatest(database);
    const config = loadConfig({ OPTLINE_PORT: '0', OPTLINE_HOST: '127.0.0.1', OPTLINE_DATA_DIR: dir, OPTLINE_PUBLIC_URL: 'http://localhost:8080' } as never);
    const server = await startServer({ config, ctx: testContext(database), demo: false, sandbox: false, worker: false });
    try {
      const res = await fetch(`${server.url}/openapi.json`);
      return (await res.json()) as Record<string, unknown>;
    } finally {
      await server.stop(); // closes the database too
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
