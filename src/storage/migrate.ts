import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Database } from './db.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-offwa.js';
import * as m0003 from './migrations/0003-ledger-seals.js';
import * as m0004 from './migrations/0004-message-times.js';
import * as m0005 from './migrations/0005-gate-and-texts.js';
import * as m0006 from './migrations/0006-consent-precision.js';
import * as m0007 from './migrations/0007-inbox-priority.js';
import * as m0008 from './migrations/0008-webhook-endpoints.js';
import * as m0009 from './migrations/0009-reports-and-roles.js';
import * as m0010 from './migrations/0010-distribution-keys.js';
import * as m0011 from './migrations/0011-shared-limits.js';
import * as m0012 from './migrations/0012-number-pacing.js';
import * as m0013 from './migrations/0013-person-timezone.js';
import * as m0017 from './migrations/0017-audit-and-languages.js';
import * as m0015 from './migrations/0015-expiry-and-quality.js';
import * as m0016 from './migrations/0016-import-jobs.js';
import * as m0018 from './migrations/0018-route-cache-version.js';

// Registered statically (no directory scan) so the compiled package and tsx runs see the same list, in order.
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-offwa': m0002,
  '0003-ledger-seals': m0003,
  '0004-message-times': m0004,
  '0005-gate-and-texts': m0005,
  '0006-consent-precision': m0006,
  '0007-inbox-priority': m0007,
  '0008-webhook-endpoints': m0008,
  '0009-reports-and-roles': m0009,
  '0010-distribution-keys': m0010,
  '0011-shared-limits': m0011,
  '0012-number-pacing': m0012,
  '0013-person-timezone': m0013,
  '0015-expiry-and-quality': m0015,
  '0016-import-jobs': m0016,
  '0017-audit-and-languages': m0017,
  '0018-route-cache-version': m0018,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

async function migrator(database: Database): Promise<Migrator> {
  // Kysely looks for its bookkeeping tables across every schema it can see; name ours explicitly so another
  // schema on the same server (another deployment, a test) is never mistaken for this one.
  let migrationTableSchema: string | undefined;
  if (database.dialect === 'postgres') {
    const r = await sql<{ s: string }>`select current_schema() as s`.execute(database.db);
    migrationTableSchema = r.rows[0]?.s;
  }
  // Kysely takes a lock (a lock row plus an advisory lock on PostgreSQL) so concurrent starts migrate once.
  return new Migrator({
    db: database.db,
    provider: new StaticProvider(),
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
}

export interface MigrationReport {
  steps: { name: string; status: 'Success' | 'Error' | 'NotExecuted' }[];
  error?: string;
}

export async function migrateToLatest(database: Database): Promise<MigrationReport> {
  const res: MigrationResultSet = await (await migrator(database)).migrateToLatest();
  const steps = (res.results ?? []).map((r) => ({ name: r.migrationName, status: r.status }));
  if (res.error) {
    return { steps, error: res.error instanceof Error ? res.error.message : String(res.error) };
  }
  return { steps };
}

export async function migrationStatus(database: Database): Promise<{ name: string; executedAt: Date | null }[]> {
  const list = await (await migrator(database)).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}
