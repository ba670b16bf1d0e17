import { randomBytes } from 'node:crypto';
import { recordOptIn } from '../src/services/consent/record-opt-in.js';
import type { Database } from '../src/storage/db.js';
import { figure, opsPerSecond, type Figure } from './lib.js';
import { seedPeople } from './gate.js';

/**
 * Opt-in writes/s (each its own transaction: person, hash-chained event, evidence, state, confirmation in the
 * outbox) against raw single-row inserts, each its own transaction, into a table of similar width.
 */
export async function benchOptIn(database: Database, ms: number): Promise<Figure> {
  const { ctx, businessId, textHash } = await seedPeople(database, 1);
  const conc = database.sqlite ? 1 : 4;
  let n = 0;
  const value = await opsPerSecond(
    () =>
      recordOptIn(ctx, businessId, {
        person: { phone: `+4479${String(30000000 + n++).padStart(8, '0')}` },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash,
        evidence: { ip: '203.0.113.1', userAgent: 'bench', pageUrl: 'https://x.example/optin' },
        actor: 'bench',
      }),
    ms,
    conc,
  );
  let floor: number;
  let floorName: string;
  const row = () => [businessId, randomBytes(16).toString('hex'), 'bench', Date.now()];
  if (database.sqlite) {
    database.sqlite.exec(
      'CREATE TABLE IF NOT EXISTS bench_rows (business_id text, id text, reason text, created_at bigint, PRIMARY KEY (business_id, id))',
    );
    const st = database.sqlite.prepare('INSERT INTO bench_rows VALUES (?, ?, ?, ?)');
    floorName = 'raw better-sqlite3 single-row insert (own transaction, synchronous=FULL)';
    floor = await opsPerSecond(() => st.run(...row()), ms);
  } else {
    await database.pool!.query(
      'CREATE TABLE IF NOT EXISTS bench_rows (business_id text, id text, reason text, created_at bigint, PRIMARY KEY (business_id, id))',
    );
    floorName = 'raw pg single-row insert (autocommit, 4 in flight)';
    floor = await opsPerSecond(
      () => database.pool!.query('INSERT INTO bench_rows VALUES ($1, $2, $3, $4)', row()),
      ms,
      conc,
    );
  }
  return figure({
    name: 'opt-in writes',
    dialect: database.dialect,
    value: Math.round(value),
    unit: 'opt-ins/s',
    floorName,
    floor: Math.round(floor),
    target: 'ratio ≥ 0.3',
    targetRatio: 0.3,
  });
}
