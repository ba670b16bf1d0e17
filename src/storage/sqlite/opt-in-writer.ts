import type { Database } from '../db.js';
import { isPersonIdConflict, personConflict } from '../consent/people-store.js';
import { sqliteReadChecks, sqliteReadPerson, sqliteWrite } from './opt-in-store.js';
import type { OptInSteps, OptInWriter } from '../consent/opt-in-writer.js';

/** The opt-in on SQLite: synchronous prepared statements on the raw handle, in one IMMEDIATE transaction. */
export function sqliteOptInWriter(database: Database): OptInWriter {
  const raw = database.sqlite!;
  // The caller holds SQLite's one connection in a transaction: nothing can move under it.
  const run = <C, R>(s: OptInSteps<C, R>): R => {
    const c = s.check(sqliteReadChecks(database, s.args));
    if ('done' in c) return c.done;
    const plan = s.plan(c.checked, sqliteReadPerson(database, s.args.businessId, s.key, s.wantHistory));
    // A new person whose WhatsApp id or BSUID belongs to someone else is refused by the unique key.
    let written: boolean;
    try {
      written = sqliteWrite(database, plan.write);
    } catch (e) {
      if (isPersonIdConflict(e)) return personConflict();
      throw e;
    }
    if (!written) return personConflict();
    return plan.result;
  };
  return {
    // The write lock is taken up front (IMMEDIATE: it reads then writes), while Kysely's connection is held so
    // no other transaction is open.
    optIn: (s) => database.db.connection().execute(async () => raw.transaction(() => run(s)).immediate()),
    // The raw handle is the caller's transaction's connection (the only one).
    optInTx: async (_trx, s) => run(s),
  };
}
