import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, type Config } from '../config.js';
import { systemClock } from '../lib/clock.js';
import { createKeyring } from '../lib/crypto.js';
import { createLogger } from '../lib/logger.js';
import { openFromConfig } from '../storage/db.js';
import { migrateToLatest } from '../storage/migrate.js';
import type { ServiceContext } from '../services/context.js';

export interface Runtime {
  config: Readonly<Config>;
  ctx: ServiceContext;
  close(): Promise<void>;
}

/**
 * For `optline start` (the laptop default) only: a master key generated once and kept beside the SQLite file,
 * so `npm install && npm start` needs no setup. `optline serve` never does this.
 */
export function ensureLocalMasterKey(dataDir: string): Buffer {
  const file = join(dataDir, 'master.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
  return key;
}

export class MissingSecretError extends Error {}

/**
 * Opens config, database (migrated) and keys for a command. Commands that touch secrets or phone hashes need
 * the master key: from OPTLINE_MASTER_KEY, or (with `allowLocalKey`, for the laptop default) from ./data.
 */
export async function openRuntime(opts: { allowLocalKey?: boolean; migrate?: boolean; logLevel?: string } = {}): Promise<Runtime> {
  let config = loadConfig();
  if (!config.masterKey) {
    const local = join(config.dataDir, 'master.key');
    if (opts.allowLocalKey || (!config.databaseUrl && existsSync(local))) {
      config = Object.freeze({ ...config, masterKey: ensureLocalMasterKey(config.dataDir) });
    } else {
      throw new MissingSecretError('OPTLINE_MASTER_KEY is not set. Generate one with `openssl rand -base64 32` and keep it safe: it encrypts channel secrets and keys the hashes of erased numbers.');
    }
  }
  const logger = createLogger(opts.logLevel ?? config.logLevel);
  const database = openFromConfig(config);
  if (opts.migrate !== false) {
    const report = await migrateToLatest(database);
    if (report.error) {
      await database.close();
      throw new Error(`migration failed: ${report.error}`);
    }
  }
  const ctx: ServiceContext = { database, clock: systemClock, keyring: createKeyring(config.masterKey!), logger };
  return { config, ctx, close: () => database.close() };
}
