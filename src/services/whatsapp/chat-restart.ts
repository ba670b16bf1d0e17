import { listTopics } from '../../storage/business/business-store.js';
import { ACTOR, CHAT_PRECISION_MS, personRef, reply, sourceRefOf, type ChatTurn } from './chat-turn.js';
import { recordOptInTx } from '../consent/record-opt-in.js';

/**
 * START (UNSTOP, ALTA…): an active re-opt-in, but only to what the person had agreed to just before their own
 * STOP and that the STOP still holds. It is recorded as one `opt_in` event of scope 'restore' whose topics are
 * the candidates (every live topic the policy allows), even when it gives nothing back now: which topics it
 * restores is decided by the projection over the whole set of the person's events (domain/consent/model.ts
 * replayStates), so a START that arrives before the STOP it answers, or a STOP that arrives after a later
 * START, ends in the same state as the other order. The confirmation that recordOptInTx queues lists the
 * topics restored (and carries Confirm under double opt-in), so it is the acknowledgement; `optin_ack` is
 * queued only when no confirmation was, and HELP answers when nothing came back.
 */
export async function restartAfterStop(
  t: ChatTurn,
  evidence: Record<string, unknown>,
  language: string,
): Promise<string> {
  const live = (await listTopics(t.trx, t.business.id)).filter(
    (tp) => tp.archivedAt === null && t.business.policy.allowedCategories.includes(tp.category),
  );
  if (live.length === 0) {
    await reply(t, 'help', 'help', language);
    return 'start_nothing_to_restore';
  }
  const r = await recordOptInTx(
    t.ctx,
    t.trx,
    t.business.id,
    {
      person: { personId: t.person.id },
      topics: live.map((tp) => tp.key),
      scope: 'restore',
      channel: 'whatsapp',
      action: 'sent_keyword',
      occurredAt: t.occurredAt,
      precisionMs: CHAT_PRECISION_MS,
      evidence: { ...evidence, restore: true },
      sourceRef: sourceRefOf(t.item),
      actor: ACTOR,
      language: language !== 'en' ? language : undefined,
    },
    personRef(t.person),
    t.now,
  );
  if (r.duplicate) return 'duplicate';
  if (r.changed.length === 0) {
    // Nothing to give back now, or already agreed: still on the record, and a later-arriving STOP sorts before it.
    await reply(t, 'help', 'help', language);
    return 'start_nothing_to_restore';
  }
  if (!r.confirmationMessageId) await reply(t, 'opt_in', 'optin_ack', language);
  return 'opted_in';
}
