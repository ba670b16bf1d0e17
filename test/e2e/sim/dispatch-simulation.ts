/**
 * The deterministic simulation of dispatch against opt-outs. One seed is one run: a business, a few opted-in
 * people, notifications queued through the API's service, opt-outs through the API's service and STOPs as
 * signed webhooks (through the app), re-opt-ins, floods of status receipts, and sends through the real
 * dispatch path (claim, pacer, concurrency slot, start step, call, outcome) against a fake provider that
 * records every call start. Time is an injected ManualClock; nothing sleeps: every await point of the send
 * path gets a seeded random delay (turns of the event loop, sometimes the clock moved on). The database is real.
 *
 * Checked on every run:
 * - G1: no provider call starts after the acknowledged opt-out of that person (from the same topic), unless an
 *   opt-in of theirs began in between; replies (no consent needed) aside;
 * - no double send: no message is accepted by the provider twice, none has two calls at once;
 * - nothing lost: every message ends settled; every accepted call is recorded as sent; every message of a person
 *   who never opted out was sent;
 * - G5: the times are consistent (claimed ≤ call started ≤ call ended, the recorded start is the call the
 *   provider saw, a cancelled message made no accepted call, the status text never tells of a send after the
 *   cancellation).
 */
import { setImmediate as turn } from 'node:timers/promises';
import type { CloudClient, SendResult } from '../../../src/channels/whatsapp-cloud/client.js';
import { classifyMetaError } from '../../../src/channels/whatsapp-cloud/errors.js';
import { batch, inboundText, statusUpdate } from '../../../src/channels/whatsapp-cloud/webhook-builders.js';
import { describeMessage } from '../../../src/domain/message-history.js';
import { queueMessage } from '../../../src/services/dispatch/queue-message.js';
import { recordOptIn } from '../../../src/services/consent/record-opt-in.js';
import { recordOptOut } from '../../../src/services/consent/record-opt-out.js';
import type { Database } from '../../../src/storage/db.js';
import { startDispatchWorker, type DispatchWorker } from '../../../src/worker/dispatch/index.js';
import type { SendPoint } from '../../../src/worker/dispatch/types.js';
import { webEvidence } from '../../helpers/seed.js';
import type { WaTestApp } from '../../helpers/whatsapp.js';

export interface SimOptions {
  seed: number;
  /** Worker instances in this process (sharing the database handle). */
  workers: number;
  people?: number;
  /** Actions of the API and webhook actors together. */
  actions?: number;
}

export interface SimReport {
  seed: number;
  messages: number;
  calls: number;
  accepted: number;
  optOuts: number;
  stoppedBeforeCall: number;
  violations: string[];
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPICS = ['delivery', 'billing'] as const;

interface Call {
  messageId: string;
  seq: number;
  at: number;
  endSeq: number | null;
  accepted: boolean;
  wamid: string | null;
}

interface ConsentMark {
  personId: string;
  /** When the request began and when it was acknowledged (its commit lies in between). */
  startSeq: number;
  seq: number;
  /** null: every topic. */
  topics: readonly string[] | null;
  /** Acknowledged by the path that records it (the service's return, the webhook's 200), not seen later. */
  atAck?: boolean;
}

/**
 * One run. `wa` is the app (webhook route, inbox processor) on the database; its ManualClock is the clock of
 * everything here. Each run uses a business of its own, so runs can share one database.
 */
export async function simulate(wa: WaTestApp, database: Database, o: SimOptions): Promise<SimReport> {
  const r = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ctx = wa.ctx;
  const clock = ctx.clock;
  clock.set(Date.UTC(2026, 5, 1, 12, 0, 0) + o.seed * 86_400_000);
  let seq = 0;
  const violations: string[] = [];

  // A random delay: a few turns of the event loop, and now and then the clock moves on.
  const jitter = async (maxTurns = 4, advanceMs = 30) => {
    const n = r() < 0.4 ? 0 : 1 + Math.floor(r() * maxTurns);
    for (let i = 0; i < n; i++) await turn();
    if (r() < 0.25) clock.advance(Math.floor(r() * advanceMs));
  };
  const pause = (_p: SendPoint) => jitter();

  const biz = await wa.business({
    name: `Sim ${o.seed}`,
    policy: { confirmationTemplate: { name: 'optin_confirm_v1', language: 'en_US' } },
  });
  const businessId = biz.business.id;

  // The provider: records each call start the moment the client is invoked, answers after a random delay,
  // now and then with a transient error (retried by the worker).
  const calls: Call[] = [];
  const inFlight = new Set<string>();
  const cloud: CloudClient = {
    async send(_pn, _token, body): Promise<SendResult> {
      const messageId = String((body as { biz_opaque_callback_data?: unknown }).biz_opaque_callback_data);
      const call: Call = { messageId, seq: ++seq, at: clock.now(), endSeq: null, accepted: false, wamid: null };
      calls.push(call);
      if (inFlight.has(messageId)) violations.push(`double send: two calls at once for ${messageId}`);
      inFlight.add(messageId);
      await jitter(6, 50);
      inFlight.delete(messageId);
      call.endSeq = ++seq;
      if (r() < 0.06) {
        return {
          ok: false,
          httpStatus: 500,
          code: 131000,
          title: 'Something went wrong',
          classification: classifyMetaError(131000, 500),
        };
      }
      call.accepted = true;
      call.wamid = `wamid.sim${o.seed}.${calls.length}`;
      return { ok: true, messageId: call.wamid };
    },
  };

  // People, opted in through the API's service (each opt-in queues a confirmation).
  const phones = Array.from(
    { length: o.people ?? 5 },
    (_, i) => `+4479112${String(10_000 + ((o.seed * 16 + i) % 90_000))}`,
  );
  const personOf = new Map<string, string>();
  const optIns: ConsentMark[] = [];
  const optOuts: ConsentMark[] = [];
  const optInBegan = new Map<string, number>();
  const optIn = async (phone: string) => {
    const startSeq = ++seq;
    optInBegan.set(phone, startSeq);
    const res = await recordOptIn(ctx, businessId, {
      person: { phone },
      topics: [...TOPICS],
      channel: 'web',
      action: 'checked_box',
      textHash: biz.text.hash,
      evidence: webEvidence,
      actor: 'sim',
    });
    personOf.set(phone, res.personId);
    optIns.push({ personId: res.personId, startSeq, seq: ++seq, topics: TOPICS });
  };
  for (const p of phones) await optIn(p);

  const workers: DispatchWorker[] = Array.from({ length: o.workers }, (_, w) =>
    startDispatchWorker({
      ctx,
      cloud,
      workerId: `wrk_sim${o.seed}_${w}`,
      autoStart: false,
      random: r,
      pause,
      sleep: async (ms) => {
        clock.advance(ms);
        await jitter(2, 0);
      },
      config: {
        enabled: true,
        pollMs: 5,
        batchSize: 2 + Math.floor(r() * 7),
        leaseMs: 3_600_000,
        concurrency: 1 + Math.floor(r() * 4),
        defaultRatePerSecond: 400,
      },
    }),
  );

  const queue = async (phone: string) => {
    await queueMessage(ctx, businessId, {
      person: { phone },
      topic: pick(TOPICS),
      template: { name: 'order_update', language: 'en_US', bodyParams: [`#${seq}`] },
    });
  };
  for (let i = 0; i < 2 * phones.length; i++) await queue(pick(phones));

  const optedOut = new Set<string>();
  const optOutApi = async (phone: string) => {
    const scopeAll = r() < 0.7;
    const startSeq = ++seq;
    await recordOptOut(ctx, businessId, {
      person: { phone },
      scope: scopeAll ? 'all' : 'topics',
      ...(scopeAll ? {} : { topics: ['delivery'] }),
      channel: 'web',
      action: 'clicked_link',
      evidence: { page: 'sim' },
      actor: 'sim',
    });
    // Acknowledged: the service returned.
    optOuts.push({
      personId: personOf.get(phone)!,
      startSeq,
      seq: ++seq,
      topics: scopeAll ? null : ['delivery'],
      atAck: true,
    });
    optedOut.add(phone);
  };
  const stopViaWebhook = async (phone: string) => {
    // A second on, so the STOP's time (whole seconds, as Meta sends it) is after the person's last opt-in.
    clock.advance(1000 + Math.floor(r() * 1000));
    const startSeq = ++seq;
    const res = await wa.post(
      inboundText({ phoneNumberId: biz.phoneNumberId, from: phone.slice(1), text: 'STOP', timestampMs: clock.now() }),
    );
    if (res.statusCode !== 200) {
      violations.push(`STOP webhook answered ${res.statusCode}`);
      return;
    }
    // Acknowledged at the 200 if the opt-out was already in effect then; else when it is seen in effect.
    const ackSeq = ++seq;
    if (await isOptedOut(database, businessId, personOf.get(phone)!)) {
      optOuts.push({ personId: personOf.get(phone)!, startSeq, seq: ackSeq, topics: null, atAck: true });
      optedOut.add(phone);
      return;
    }
    await wa.processor.drain();
    if (!(await isOptedOut(database, businessId, personOf.get(phone)!))) {
      // A re-opt-in that began meanwhile may have come after it; otherwise the STOP was lost.
      if ((optInBegan.get(phone) ?? 0) < startSeq) violations.push(`STOP from ${phone} never took effect`);
      return;
    }
    optOuts.push({ personId: personOf.get(phone)!, startSeq, seq: ++seq, topics: null });
    optedOut.add(phone);
  };
  const statusFlood = async () => {
    const accepted = calls.filter((c) => c.accepted).slice(-12);
    if (accepted.length === 0) return;
    const envelopes = accepted.map((c) =>
      statusUpdate({
        phoneNumberId: biz.phoneNumberId,
        messageId: c.wamid!,
        status: pick(['sent', 'delivered', 'read'] as const),
        bizOpaque: c.messageId,
        timestampMs: clock.now(),
      }),
    );
    const res = await wa.post(batch(...envelopes));
    if (res.statusCode !== 200) violations.push(`status webhook answered ${res.statusCode}`);
  };

  // The actors: the API and the webhooks, side by side with the workers.
  let actorsDone = false;
  const actions = o.actions ?? 12;
  const actor = async (share: number) => {
    for (let i = 0; i < share; i++) {
      await jitter(8, 40);
      const x = r();
      const phone = pick(phones);
      if (x < 0.4) await queue(phone);
      else if (x < 0.55) await optOutApi(phone);
      else if (x < 0.7) await stopViaWebhook(phone);
      else if (x < 0.8 && optedOut.has(phone)) {
        await optIn(phone);
        optedOut.delete(phone);
      } else await statusFlood();
    }
  };
  const workerLoop = async (w: DispatchWorker) => {
    while (!actorsDone) {
      await w.tick();
      await jitter(3, 10);
    }
  };
  const loops = workers.map(workerLoop);
  await Promise.all([actor(Math.ceil(actions / 2)), actor(Math.floor(actions / 2))]);
  actorsDone = true;
  await Promise.all(loops);

  // Drain: tick until nothing is open, moving the clock to the next retry when the queue only waits.
  await wa.processor.drain();
  for (let round = 0; round < 300; round++) {
    const open = await openMessages(database, businessId);
    if (open.count === 0) break;
    const n = (await Promise.all(workers.map((w) => w.tick()))).reduce((a, b) => a + b, 0);
    if (n === 0 && open.nextDue !== null && open.nextDue > clock.now()) clock.set(open.nextDue);
  }
  await wa.processor.drain();
  await Promise.all(workers.map((w) => w.stop()));

  const rows = await database.db
    .selectFrom('messages')
    .leftJoin('topics', (j) =>
      j.onRef('topics.business_id', '=', 'messages.business_id').onRef('topics.id', '=', 'messages.topic_id'),
    )
    .select([
      'messages.id',
      'messages.person_id',
      'messages.kind',
      'messages.status',
      'messages.provider_message_id',
      'messages.claimed_at',
      'messages.call_started_at',
      'messages.call_ended_at',
      'messages.cancelled_at',
      'messages.cancel_reason',
      'messages.error_code',
      'topics.key as topic',
    ])
    .where('messages.business_id', '=', businessId)
    .execute();
  const byId = new Map(rows.map((m) => [m.id, m]));
  const num = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));

  // G1.
  const covers = (mark: ConsentMark, topic: string | null, kind: string) =>
    mark.topics === null || (kind === 'notification' && topic !== null && mark.topics.includes(topic));
  for (const c of calls) {
    const m = byId.get(c.messageId);
    if (!m) {
      violations.push(`call for an unknown message ${c.messageId}`);
      continue;
    }
    if (m.kind === 'reply') continue;
    for (const out of optOuts) {
      if (out.personId !== m.person_id || out.seq > c.seq || !covers(out, m.topic, m.kind)) continue;
      // An opt-in that began before the call and was not acknowledged before the opt-out began may have
      // committed after it: consent was given again, and the call is allowed.
      const reOptedIn = optIns.some((i) => i.personId === m.person_id && i.startSeq < c.seq && i.seq > out.startSeq);
      if (!reOptedIn)
        violations.push(
          `G1: ${m.kind} ${m.id} (${m.topic ?? '-'}) call started after the acknowledged opt-out of ${m.person_id}`,
        );
    }
  }
  // G1, the calls already on their way: an opt-out is acknowledged only after every call to that person that
  // started before it was asked for has ended (the provider answered it), so none reaches the provider later.
  for (const out of optOuts) {
    if (!out.atAck) continue;
    for (const c of calls) {
      const m = byId.get(c.messageId);
      if (!m || m.person_id !== out.personId || c.seq > out.startSeq) continue;
      if (c.endSeq === null || c.endSeq > out.seq)
        violations.push(
          `G1: call for ${m.kind} ${m.id} still in flight when the opt-out of ${m.person_id} was acknowledged`,
        );
    }
  }
  // No double send.
  const acceptedBy = new Map<string, Call[]>();
  for (const c of calls) if (c.accepted) acceptedBy.set(c.messageId, [...(acceptedBy.get(c.messageId) ?? []), c]);
  for (const [id, cs] of acceptedBy)
    if (cs.length > 1) violations.push(`double send: ${id} accepted ${cs.length} times`);
  // Nothing lost.
  const everOptedOut = new Set(optOuts.map((x) => x.personId));
  for (const m of rows) {
    if (['queued', 'sending', 'unknown'].includes(m.status)) violations.push(`lost: ${m.id} still ${m.status}`);
    const acc = acceptedBy.get(m.id)?.[0];
    if (acc && !(['sent', 'delivered', 'read'].includes(m.status) && m.provider_message_id === acc.wamid)) {
      violations.push(`lost: ${m.id} accepted as ${acc.wamid} but recorded ${m.status} ${m.provider_message_id}`);
    }
    if (!acc && ['sent', 'delivered', 'read'].includes(m.status))
      violations.push(`${m.id} recorded ${m.status} without an accepted call`);
    if (!everOptedOut.has(m.person_id) && m.kind !== 'reply' && !['sent', 'delivered', 'read'].includes(m.status)) {
      violations.push(`lost: ${m.kind} ${m.id} of a subscribed person ended ${m.status} ${m.error_code}`);
    }
  }
  // G5.
  for (const m of rows) {
    const t = {
      claimedAt: num(m.claimed_at),
      callStartedAt: num(m.call_started_at),
      callEndedAt: num(m.call_ended_at),
      cancelledAt: num(m.cancelled_at),
      cancelReason: m.cancel_reason ?? null,
    };
    const lastCall = calls.filter((c) => c.messageId === m.id).at(-1);
    if (t.callStartedAt !== null && (t.claimedAt === null || t.claimedAt > t.callStartedAt))
      violations.push(`G5: ${m.id} call started ${t.callStartedAt} before its claim ${t.claimedAt}`);
    if (t.callEndedAt !== null && (t.callStartedAt === null || t.callEndedAt < t.callStartedAt))
      violations.push(`G5: ${m.id} call ended ${t.callEndedAt} before it started ${t.callStartedAt}`);
    if (['sent', 'delivered', 'read'].includes(m.status)) {
      if (t.callStartedAt === null || t.callEndedAt === null)
        violations.push(`G5: ${m.id} ${m.status} without its call times`);
      else if (!lastCall || lastCall.at < t.callStartedAt || lastCall.at > t.callEndedAt)
        violations.push(`G5: ${m.id} recorded call ${t.callStartedAt}..${t.callEndedAt}, provider saw ${lastCall?.at}`);
      if (/after the cancellation/.test(describeMessage(m.status, t)))
        violations.push(`G5: ${m.id} says it left after its cancellation`);
    }
    if (m.status === 'cancelled') {
      if (t.cancelledAt === null || !t.cancelReason) violations.push(`G5: ${m.id} cancelled without when or why`);
      if (acceptedBy.has(m.id)) violations.push(`G5: ${m.id} cancelled although the provider accepted it`);
      if (t.callEndedAt !== null && t.cancelledAt !== null && t.cancelledAt < t.callEndedAt)
        violations.push(`G5: ${m.id} cancelled during its call`);
    }
  }

  return {
    seed: o.seed,
    messages: rows.length,
    calls: calls.length,
    accepted: [...acceptedBy.keys()].length,
    optOuts: optOuts.length,
    stoppedBeforeCall: workers.reduce((a, w) => a + w.metrics().skippedCancelled + w.metrics().stoppedAtStart, 0),
    violations,
  };
}

async function isOptedOut(database: Database, businessId: string, personId: string): Promise<boolean> {
  const s = await database.db
    .selectFrom('consent_state')
    .select('status')
    .where('business_id', '=', businessId)
    .where('person_id', '=', personId)
    .execute();
  return s.length > 0 && s.every((x) => x.status === 'opted_out');
}

async function openMessages(
  database: Database,
  businessId: string,
): Promise<{ count: number; nextDue: number | null }> {
  const rows = await database.db
    .selectFrom('messages')
    .select(['status', 'not_before'])
    .where('business_id', '=', businessId)
    .where('status', 'in', ['queued', 'sending'])
    .execute();
  const due = rows.filter((x) => x.status === 'queued').map((x) => Number(x.not_before));
  return { count: rows.length, nextDue: due.length ? Math.min(...due) : null };
}
