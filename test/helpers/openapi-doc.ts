import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { openSqlite } from '../../src/storage/db.js';
import { testContext } from './context.js';

export interface ComposedServer {
  server: RunningServer;
  ctx: ReturnType<typeof testContext>;
  close(): Promise<void>;
}

/**
 * The whole process (API, webhooks, pages) as `optline serve` composes it, listening on a loopback port, on a
 * fresh SQLite file; no worker, no sandbox.
 */
export async function startComposedServer(): Promise<ComposedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'optline-composed-'));
  const database = openSqlite(join(dir, 'o.db'));
  await migrateToLatest(database);
  const config = loadConfig({
    OPTLINE_PORT: '0',
    OPTLINE_HOST: '127.0.0.1',
    OPTLINE_DATA_DIR: dir,
    OPTLINE_PUBLIC_URL: 'http://localhost:8080',
  } as never);
  const ctx = testContext(database);
  const server = await startServer({ config, ctx, demo: false, sandbox: false, worker: false });
  return {
    server,
    ctx,
    async close() {
      await server.stop(); // closes the database too
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The /openapi.json of the whole process. */
export async function fetchServedOpenApi(): Promise<Record<string, unknown>> {
  const s = await startComposedServer();
  try {
    const res = await fetch(`${s.server.url}/openapi.json`);
    return (await res.json()) as Record<string, unknown>;
  } finally {
    await s.close();
  }
}
