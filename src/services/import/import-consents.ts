import type { Kysely } from 'kysely';
import { fail } from '../../domain/errors.js';
import { timezoneForPhone } from '../consent/person-ref.js';
import { getBusiness, toTopic } from '../../storage/business/business-store.js';
import { chainEvent } from '../../storage/consent/consent-store.js';
import { projectionOf } from '../../domain/consent/projection.js';
import { isUniqueViolation, type Trx } from '../../storage/db.js';
import {
  existingSourceRefs,
  importWriteLanes,
  lastStopsAll,
  lockPeopleByPhone,
  refreshStatistics,
  stateKey,
  tuneForImport,
  statesOf,
  suppressedPhoneHashes,
  writeImport,
  type ImportWrites,
} from '../../storage/consent/import-store.js';
import { newPersonRow, type PersonRow } from '../../storage/consent/people-store.js';
import { messageRow } from '../../storage/dispatch/outbox-store.js';
import type { DB } from '../../storage/schema.js';
import type { ServiceContext } from '../context.js';
import { checkBatches, type ImportSetup, type ReadyRow, type RefusedRow, type RowContext } from './import-row.js';
import { checkInWorker } from './check-in-worker.js';

export { REQUIRED_COLUMNS, CHANNEL_ALIASES, type RefusedRow } from './import-row.js';

/**
 * Bulk import of opt-ins collected elsewhere (another system's export, typed-up paper forms). The CSV columns
 * are documented in import-row.ts.
 *
 * The semantics are recordOptIn's with channel `import`: the same refusals (an erased number is never added
 * back: CONTACT_ERASED), the same hash chain, the same state projection, and, only when asked (`confirm`), a
 * WhatsApp confirmation queued when the state changed. But the per-row path (about ten queries a row) cannot
 * import a million rows in a minute, so rows go in batches, each in one transaction with a handful of set-based
 * queries and multi-row writes.
 * A batch is all or nothing; batches before a failure stay committed, and re-running the file skips them:
 * each row's source_ref is derived from the consent itself (import-row.ts), and rows already recorded are
 * counted as duplicates, not recorded again.
 */

import type { ImportInput, ImportResult } from './import-types.js';

export type { ImportInput, ImportResult } from './import-types.js';

interface BatchOutcome {
  imported: number;
  duplicates: number;
  refused: RefusedRow[];
  confirmations: number;
}

/** Thrown inside a dry run's transaction so that it rolls back; carries what the batch would have done. */
class DryRunRollback extends Error {
  constructor(readonly outcome: BatchOutcome) {
    super('dry run');
  }
}

/**
 * What a dry run carries from batch to batch, since each batch's writes are rolled back: the consents it
 * would have recorded, so a repeat later in the file counts as a duplicate, as it would (one string per
 * imported row). Its limit: a person's consent states planned in one batch are not seen by a later one, so
 * a later row that would change nothing (the same topic again, acted on later) can count one confirmation
 * more than the real run queues.
 */
interface DryRunMemory {
  recorded: Set<string>;
}

export async function importConsents(
  ctx: ServiceContext,
  businessId: string,
  input: ImportInput,
): Promise<ImportResult> {
  const setup = await loadSetup(ctx.database.db, businessId);
  const batchSize = Math.max(1, Math.min(input.batchSize ?? 2000, 20_000));
  const rc: RowContext = {
    setup,
    fileName: input.fileName,
    fileHash: input.fileHash,
    now: ctx.clock.now(),
    phoneHash: (e164) => ctx.keyring.phoneHash(e164),
    ...(input.defaultCountry ? { defaultCountry: input.defaultCountry } : {}),
    ...(input.defaultTextHash ? { defaultTextHash: input.defaultTextHash } : {}),
  };
  const result: ImportResult = {
    total: 0,
    imported: 0,
    duplicates: 0,
    refused: [],
    refusedByCode: {},
    confirmations: 0,
    dryRun: Boolean(input.dryRun),
  };
  const opts: BatchOptions = {
    actor: input.actor,
    confirm: Boolean(input.confirm),
    ...(input.dryRun ? { dryRun: { recorded: new Set<string>() } } : {}),
  };
  // Batches commit in file order on SQLite (one writer). On PostgreSQL two batches may be in flight on two
  // connections, so the server inserts one while it commits the other, but only batches with no number in
  // common: one person's rows are always recorded in file order (their chain, and which of two equal-time
  // events wins). A number the other batch created meanwhile only makes the batch run again (commitBatch).
  // Meanwhile the next batch is parsed and checked (on the worker thread when reading a file).
  // A dry run keeps one lane: its memory of earlier batches must be complete when a batch is planned.
  const lanes = input.dryRun ? 1 : importWriteLanes(ctx.database);
  const inFlight: { done: Promise<void>; phones: Set<string> }[] = [];
  let statsAt = 0;
  let progressed = 0;
  const flush = async (rows: ReadyRow[], through: number, bytes: number) => {
    const phones = new Set(rows.map((r) => r.phone));
    while (inFlight.length >= lanes || inFlight.some((f) => rows.some((r) => f.phones.has(r.phone))))
      await inFlight.shift()!.done;
    // Planner statistics after the first rows, then as the import quadruples what it had (see refreshStatistics).
    if (result.imported > 0 && result.imported >= statsAt * 4) {
      statsAt = result.imported;
      await refreshStatistics(ctx.database);
    }
    const p = commitBatch(ctx, setup, rows, opts).then((o) => {
      result.imported += o.imported;
      result.duplicates += o.duplicates;
      result.confirmations += o.confirmations;
      result.refused.push(...o.refused);
      if (through > progressed) input.onProgress?.((progressed = through), bytes);
    });
    p.catch(() => {}); // awaited by a later flush or at the end; meanwhile a failure must not count as unhandled
    inFlight.push({ done: p, phones });
  };

  const batches = input.file
    ? checkInWorker(input.file, rc, batchSize)
    : input.rows
      ? checkBatches(input.rows, rc, batchSize)
      : fail('VALIDATION_FAILED', 'Nothing to import: give a file or rows.', 'file');
  const restoreSettings = input.dryRun ? async () => {} : tuneForImport(ctx.database);
  try {
    for await (const b of batches) {
      result.total = b.total;
      result.refused.push(...b.refused);
      if (input.file) {
        // Rows from the worker carry topic keys only and no keyed hash (the worker holds no secret).
        for (const r of b.ready) {
          r.topics = r.topicKeys.map((k) => setup.topics.get(k)!);
          r.phoneHash = rc.phoneHash(r.phone);
        }
      }
      await flush(b.ready, b.total, b.bytes);
    }
  } finally {
    // A file that fails to parse half way still lets the batches in flight finish before the error surfaces.
    await Promise.allSettled(inFlight.map((f) => f.done));
    await restoreSettings();
  }
  await Promise.all(inFlight.map((f) => f.done));
  result.refused.sort((a, b) => a.row - b.row);
  for (const r of result.refused) result.refusedByCode[r.code] = (result.refusedByCode[r.code] ?? 0) + 1;
  return result;
}

async function loadSetup(q: Kysely<DB>, businessId: string): Promise<ImportSetup> {
  const business = await getBusiness(q, businessId);
  if (!business) return fail('NOT_FOUND', 'No such business.', 'businessId');
  const topics = (await q.selectFrom('topics').selectAll().where('business_id', '=', businessId).execute()).map(
    toTopic,
  );
  const texts = await q
    .selectFrom('consent_texts')
    .select(['hash', 'usable', 'topic_keys'])
    .where('business_id', '=', businessId)
    .execute();
  return {
    business,
    topics: new Map(topics.map((t) => [t.key, t])),
    texts: new Map(
      texts.map((t) => [
        t.hash,
        { usable: Number(t.usable) === 1, topicKeys: new Set(JSON.parse(t.topic_keys) as string[]) },
      ]),
    ),
  };
}

interface BatchOptions {
  actor: string;
  confirm: boolean;
  dryRun?: DryRunMemory;
}

/** A batch that raced with the API (or another import) creating the same person is simply run again. */
async function commitBatch(
  ctx: ServiceContext,
  setup: ImportSetup,
  rows: ReadyRow[],
  opts: BatchOptions,
): Promise<BatchOutcome> {
  if (rows.length === 0) return { imported: 0, duplicates: 0, refused: [], confirmations: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.database.transaction(async (trx) => {
        const outcome = await recordBatch(ctx, trx, setup, rows, opts);
        if (opts.dryRun) throw new DryRunRollback(outcome);
        return outcome;
      });
    } catch (e) {
      if (e instanceof DryRunRollback) return e.outcome;
      if (!isUniqueViolation(e) || attempt >= 3) throw e;
    }
  }
}

/** recordOptInTx for a whole batch: reads in a few queries, events chained and projected in memory, then written. */
async function recordBatch(
  ctx: ServiceContext,
  trx: Trx,
  setup: ImportSetup,
  rows: ReadyRow[],
  opts: BatchOptions,
): Promise<BatchOutcome> {
  const { actor, dryRun } = opts;
  const bid = setup.business.id;
  const now = ctx.clock.now();
  const suppressed = await suppressedPhoneHashes(trx, bid, [...new Set(rows.map((r) => r.phoneHash))]);
  const people = await lockPeopleByPhone(ctx.database, trx, bid, [...new Set(rows.map((r) => r.phone))]);
  // A source_ref names the number, so only a row whose number belongs to a person (or was erased) can have
  // been recorded before: a first import of new people skips the lookup (a random probe into a large index).
  const known = await existingSourceRefs(
    trx,
    bid,
    rows.filter((r) => people.has(r.phone) || suppressed.has(r.phoneHash)).map((r) => r.sourceRef),
  );
  if (dryRun) for (const r of rows) if (dryRun.recorded.has(r.sourceRef)) known.add(r.sourceRef);
  const existing = [...people.values()].map((p) => p.id);
  const states = await statesOf(trx, bid, existing);
  const stops = await lastStopsAll(trx, bid, existing);

  const out: BatchOutcome = { imported: 0, duplicates: 0, refused: [], confirmations: 0 };
  const w: ImportWrites = { people: [], events: [], evidence: [], states: [], messages: [] };
  const touched = new Set<PersonRow>();
  const changedStates = new Set<string>();
  const confirmations = new Map<PersonRow, { eventId: string; topicKeys: string[] }>();
  const { doubleOptIn, defaultLanguage } = setup.business.policy;

  // In file order: the rows of one person chain one after another, as separate API calls would.
  for (const r of rows) {
    if (known.has(r.sourceRef)) {
      out.duplicates += 1;
      continue;
    }
    if (suppressed.has(r.phoneHash)) {
      out.refused.push({
        row: r.row,
        code: 'CONTACT_ERASED',
        field: 'phone',
        reason: "This number was erased at the person's request; an import cannot add it back.",
      });
      continue;
    }
    let person = people.get(r.phone);
    if (!person)
      people.set(
        r.phone,
        (person = newPersonRow(bid, { phone: r.phone }, now, {
          country: r.country,
          timezone: timezoneForPhone(r.phone, r.country),
        })),
      );
    if (person.erased_at !== null) {
      out.refused.push({
        row: r.row,
        code: 'PERSON_ERASED',
        field: 'phone',
        reason: 'This person was erased; nothing more can be recorded for them.',
      });
      continue;
    }
    known.add(r.sourceRef);
    dryRun?.recorded.add(r.sourceRef);
    const { row: ev, evidence } = chainEvent(
      person,
      {
        type: 'opt_in',
        scope: 'topics',
        topicKeys: r.topicKeys,
        channel: 'import',
        action: r.action,
        textHash: r.textHash,
        occurredAt: r.occurredAt,
        sourceRef: r.sourceRef,
        actor,
        evidence: r.evidence,
      },
      now,
      ctx.keyring.ledger,
    );
    person.chain_seq = ev.seq;
    person.chain_head = ev.hash;
    person.updated_at = now;
    touched.add(person);
    w.events.push(ev);
    w.evidence.push({ business_id: bid, event_id: ev.id, evidence });
    out.imported += 1;

    // projectEvent in memory, on the batch's view of this person's states.
    const changed: string[] = [];
    const mine = { get: (topicId: string) => states.get(stateKey(person.id, topicId)) };
    for (const { topic, state } of projectionOf(
      mine,
      stops.get(person.id),
      r.topics,
      { id: ev.id, type: 'opt_in', occurredAt: r.occurredAt },
      doubleOptIn,
    )) {
      const key = stateKey(person.id, topic.id);
      states.set(key, state);
      changedStates.add(key);
      changed.push(topic.key);
    }
    // Confirmed as in recordOptIn, but one message per person per batch naming every topic that changed, rather than
    // several confirmations in a row to one person. Only when the import was asked to (opts.confirm); a row
    // with confirmation_sent_at was confirmed at the source.
    if (changed.length && opts.confirm && r.confirm) {
      const c = confirmations.get(person);
      if (!c) confirmations.set(person, { eventId: ev.id, topicKeys: changed });
      else {
        c.eventId = ev.id;
        for (const k of changed) if (!c.topicKeys.includes(k)) c.topicKeys.push(k);
      }
    }
  }

  w.people = [...touched];
  for (const key of changedStates) {
    const [personId, topicId] = key.split(' ') as [string, string];
    const s = states.get(key)!;
    w.states.push({
      business_id: bid,
      person_id: personId,
      topic_id: topicId,
      status: s.status,
      decided_at: s.decidedAt,
      event_id: s.eventId,
      updated_at: now,
    });
  }
  out.confirmations = confirmations.size;
  for (const [person, c] of confirmations) {
    w.messages.push(
      messageRow(
        {
          businessId: bid,
          personId: person.id,
          topicId: null,
          kind: 'confirmation',
          relatedEventId: c.eventId,
          notBefore: now,
          payload: { topicKeys: c.topicKeys, doubleOptIn, language: person.language ?? defaultLanguage },
        },
        now,
      ),
    );
  }
  await writeImport(ctx.database, trx, w);
  return out;
}
