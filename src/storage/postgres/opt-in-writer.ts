import { isUniqueViolation, type Database, type Trx } from '../db.js';
import { isPersonIdConflict, lockOrCreatePerson, personConflict } from '../consent/people-store.js';
import { pgReadAll, pgReadChecks, pgReadPerson, pgWrite } from '../consent/opt-in-store.js';
import type { OptInSteps, OptInWriter } from '../consent/opt-in-writer.js';

/** The opt-in on PostgreSQL: optimistic (two round trips, no lock held across them), else the locking path. */
export function postgresOptInWriter(database: Database): OptInWriter {
  const optInTx = async <C, R>(trx: Trx, s: OptInSteps<C, R>): Promise<R> => {
    const c = s.check(await pgReadChecks(database, trx, s.args));
    if ('done' in c) return c.done;
    // The person's row lock: events of one person are appended one at a time and the hash chain never forks.
    const person = await lockOrCreatePerson(trx, s.args.businessId, s.key, s.now, s.newPerson);
    const found = await pgReadPerson(database, trx, s.args.businessId, person.id, s.wantHistory);
    const plan = s.plan(c.checked, { ...found, person });
    let written: boolean;
    try {
      written = await pgWrite(database, trx, plan.write);
    } catch (e) {
      if (isPersonIdConflict(e)) return personConflict();
      throw e;
    }
    if (!written) throw new Error('the opt-in was not written although the person is locked');
    return plan.result;
  };
  return {
    // Everything read in one statement (one snapshot), everything written in one statement that applies only if
    // the person's row is still the one it was planned on; a write that lost a race takes the locking path.
    async optIn(s) {
      const facts = await pgReadAll(database, database.db, s.args, s.key, s.wantHistory);
      const c = s.check(facts);
      if ('done' in c) return c.done;
      const plan = s.plan(c.checked, facts);
      try {
        if (await pgWrite(database, database.db, plan.write)) return plan.result;
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
      }
      return database.transaction((trx) => optInTx(trx, s));
    },
    optInTx,
  };
}
