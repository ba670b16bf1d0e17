import type { Database, Trx } from '../db.js';
import type { PersonKey } from './people-store.js';
import type { ChecksArgs, OptInChecks, OptInPerson, OptInWrite } from './opt-in-store.js';
import { sqliteOptInWriter } from '../sqlite/opt-in-writer.js';
import { postgresOptInWriter } from '../postgres/opt-in-writer.js';

/**
 * The opt-in's read → check → plan → write, run the way each database does it fastest (the opt-in is the busiest
 * write of the product). The caller (services/consent/record-opt-in.ts) brings the rules as two pure steps:
 * `check` on what was read (refusing by throwing, or answering a duplicate), `plan` on the person as found.
 * - SQLite: every step synchronously in one IMMEDIATE transaction of prepared statements on the raw handle.
 * - PostgreSQL: optimistically, one read statement and one conditional write statement; when someone moved the
 *   person in between (or a concurrent duplicate), nothing is written and it runs again on the locking path.
 */
export interface OptInSteps<C, R> {
  args: ChecksArgs;
  key: PersonKey;
  /** Read the person's whole history (a START restores from it). */
  wantHistory: boolean;
  /** How a new person is created when the locking path has to insert them first. */
  newPerson: { country?: string | null; timezone?: string | null; language?: string | null };
  now: number;
  check(facts: OptInChecks): { checked: C } | { done: R };
  plan(checked: C, found: OptInPerson): { write: OptInWrite; result: R };
}

export interface OptInWriter {
  /** The opt-in in a transaction of its own. */
  optIn<C, R>(steps: OptInSteps<C, R>): Promise<R>;
  /** The opt-in inside the caller's transaction (composed with other writes). */
  optInTx<C, R>(trx: Trx, steps: OptInSteps<C, R>): Promise<R>;
}

const WRITER = Symbol('opt-in writer');

/** The opt-in writer bound to this database. */
export const optInWriter = (database: Database): OptInWriter =>
  database.caches.bind(WRITER, () => (database.sqlite ? sqliteOptInWriter(database) : postgresOptInWriter(database)));
