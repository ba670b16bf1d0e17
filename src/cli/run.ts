import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { AppError } from '../domain/errors.js';
import { systemClock } from '../lib/clock.js';
import { createKeyring } from '../lib/crypto.js';
import { createLogger } from '../lib/logger.js';
import { openFromConfig } from '../storage/db.js';
import { migrateToLatest, migrationStatus } from '../storage/migrate.js';
import { getBusiness, getBusinessBySlug, type Business } from '../storage/business/business-store.js';
import type { ServiceContext } from '../services/context.js';
import { boundHeapGrowth } from '../lib/heap.js';

/** An error the user can fix (a flag, a name, a setting): printed as one line, exit code 1, no stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Where a command writes; tests pass collecting streams instead of the process's own. */
export interface CliIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  isTTY: boolean;
}

export const processIO = (): CliIO => ({
  out: process.stdout,
  err: process.stderr,
  isTTY: Boolean(process.stderr.isTTY),
});

export interface Runtime {
  config: Readonly<Config>;
  ctx: ServiceContext;
  close(): Promise<void>;
}

/**
 * What a command needs of the schema. Only the commands that own the schema's life (`serve`, `start`,
 * `migrate`) change it, under the migration lock; every other command refuses a schema that is behind, so a
 * one-off command run with a newer build never migrates a production database on its own.
 */
export type SchemaNeed = 'migrate' | 'current' | 'none';

export interface RuntimeOptions {
  allowLocalKey?: boolean;
  schema?: SchemaNeed;
  /** Log at the configured level (servers); one-off commands log warnings only unless this is set. */
  verbose?: boolean;
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

/**
 * Opens config, database and keys for a command. Commands that touch secrets or phone hashes need the master
 * key: from OPTLINE_MASTER_KEY, or (with `allowLocalKey`, for the laptop default) from ./data.
 */
export async function openRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  let config = loadConfig();
  if (!config.masterKey) {
    const local = join(config.dataDir, 'master.key');
    if (opts.allowLocalKey || (!config.databaseUrl && existsSync(local))) {
      config = Object.freeze({ ...config, masterKey: ensureLocalMasterKey(config.dataDir) });
    } else {
      throw new UserError(
        'OPTLINE_MASTER_KEY is not set. Generate one with `openssl rand -base64 32` and keep it safe: it encrypts channel secrets and keys the hashes of erased numbers.',
      );
    }
  }
  const logger = createLogger(opts.verbose ? config.logLevel : 'warn');
  const database = openFromConfig(config);
  try {
    await prepareSchema(database, opts.schema ?? 'current');
  } catch (e) {
    await database.close();
    throw e;
  }
  const ctx: ServiceContext = { database, clock: systemClock, keyring: createKeyring(config.masterKey!), logger };
  return { config, ctx, close: () => database.close() };
}

async function prepareSchema(database: Runtime['ctx']['database'], need: SchemaNeed): Promise<void> {
  if (need === 'none') return;
  if (need === 'migrate') {
    const report = await migrateToLatest(database);
    if (report.error) throw new Error(`migration failed: ${report.error}`);
    return;
  }
  const pending = (await migrationStatus(database)).filter((m) => !m.executedAt);
  if (pending.length > 0) {
    throw new UserError(
      `the database schema is behind (${pending.length} migration(s) pending, first ${pending[0]!.name}): run optline migrate`,
    );
  }
}

/** Businesses are named on the command line by slug (what people remember) or by id. */
export async function resolveBusiness(ctx: ServiceContext, ref: string): Promise<Business> {
  const q = ctx.database.db;
  const b = (await getBusinessBySlug(q, ref)) ?? (await getBusiness(q, ref));
  if (!b) throw new UserError(`no business with slug or id "${ref}"`);
  return b;
}

/**
 * The one wrapper every command runs in: opens the runtime, runs the body, closes the runtime, and turns known
 * failures into one line `optline <name>: …` on stderr with exit code 1 instead of a stack trace. Returns the
 * exit code; long-running commands return it when they are stopped.
 */
export async function runCommand(
  name: string,
  body: (rt: Runtime) => Promise<number>,
  opts: RuntimeOptions & { io?: CliIO } = {},
): Promise<number> {
  const io = opts.io ?? processIO();
  let rt: Runtime | undefined;
  let code: number;
  try {
    rt = await openRuntime(opts);
    // Every command, not only the server: a local import makes garbage at the same pace as a webhook flood (its
    // peak RSS over 300,000 rows: 611 MB with V8's default growth, 368 MB with this bound, in the same time).
    boundHeapGrowth(rt.config.heapGrowthPercent);
    code = await body(rt);
  } catch (e) {
    io.err.write(`optline ${name}: ${describeError(e)}\n`);
    code = 1;
  } finally {
    await rt?.close().catch(() => {});
  }
  return code;
}

export function describeError(e: unknown): string {
  if (e instanceof AppError) {
    const fields = e.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return `${e.code}: ${e.message}${fields && !e.message.includes(fields) ? ` (${fields})` : ''}`;
  }
  if (e instanceof ConfigError || e instanceof UserError) return e.message;
  const code = (e as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'cannot reach the database (is PostgreSQL running and DATABASE_URL right?)';
  return e instanceof Error ? e.message : String(e);
}
