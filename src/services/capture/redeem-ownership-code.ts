import { sameWhatsAppNumber } from '../../domain/chat/phone-match.js';
import { normalisePhone } from '../../lib/phone.js';
import { findOwnershipRequestByCode, markOwnershipRedeemed } from '../../storage/capture/ownership-request-store.js';
import { findEventBySource } from '../../storage/consent/consent-store.js';
import type { Trx } from '../../storage/db.js';
import type { ServiceContext } from '../context.js';
import { AppError } from '../../domain/errors.js';
import { checkOptInShape, recordOptInTx, type OptInInput, type OptInResult } from '../consent/record-opt-in.js';
import { resolvePersonRef, type PersonRefInput } from '../consent/person-ref.js';
import { findOwnershipCode, ownershipCodeHash } from '../../lib/ownership-codes.js';

export interface OwnershipInbound {
  text: string;
  messageId: string;
  waId?: string;
  phone?: string;
  bsuid?: string;
  occurredAt: number;
}

export type RedeemRefusal = 'unknown_code' | 'expired' | 'phone_mismatch' | 'sender_unknown' | 'not_allowed';

export type RedeemResult =
  /**
   * The opt-in is recorded (or was already, for a redelivered message). The WhatsApp confirmation is queued by the
   * opt-in itself.
   */
  | {
      outcome: 'recorded';
      requestId: string;
      duplicate: boolean;
      optIn: OptInResult | null;
      eventId: string;
      language: string;
    }
  /** Nothing recorded. `reply` is a short chat answer in the language of the form, for the open service window. */
  | { outcome: 'refused'; reason: RedeemRefusal; reply: string; requestId: string | null };

const REPLIES: Record<string, Record<RedeemRefusal, string>> = {
  en: {
    unknown_code: 'We could not find this code. Please fill in the sign-up form again.',
    expired: 'This code has expired. Please fill in the sign-up form again.',
    phone_mismatch:
      'This code was made for another phone number. Please send it from the number you typed in the form.',
    sender_unknown: 'We cannot see your phone number, so we cannot check this code. Please fill in the form again.',
    not_allowed: 'This sign-up can no longer be completed. Please fill in the sign-up form again.',
  },
  es: {
    unknown_code: 'No encontramos este código. Vuelve a rellenar el formulario de alta.',
    expired: 'Este código ha caducado. Vuelve a rellenar el formulario de alta.',
    phone_mismatch: 'Este código es para otro número. Envíalo desde el número que escribiste en el formulario.',
    sender_unknown:
      'No vemos tu número de teléfono, así que no podemos comprobar este código. Vuelve a rellenar el formulario.',
    not_allowed: 'Este alta ya no se puede completar. Vuelve a rellenar el formulario de alta.',
  },
  pt: {
    unknown_code: 'Não encontramos este código. Preencha o formulário de inscrição de novo.',
    expired: 'Este código expirou. Preencha o formulário de inscrição de novo.',
    phone_mismatch: 'Este código foi feito para outro número. Envie-o do número que você digitou no formulário.',
    sender_unknown:
      'Não conseguimos ver seu número de telefone, então não podemos conferir este código. Preencha o formulário de novo.',
    not_allowed: 'Esta inscrição não pode mais ser concluída. Preencha o formulário de inscrição de novo.',
  },
};

const refuse = (reason: RedeemRefusal, language: string, requestId: string | null): RedeemResult => ({
  outcome: 'refused',
  reason,
  requestId,
  reply: (REPLIES[language] ?? REPLIES.en!)[reason],
});

/** The sender's number as E.164 (a wa_id is international digits); null when only a BSUID is known. */
function senderNumber(inbound: OwnershipInbound): string | null {
  for (const raw of [inbound.phone, inbound.waId]) {
    if (!raw) continue;
    const p = normalisePhone(raw);
    if (p.ok) return p.e164;
    const digits = raw.replace(/\D/g, '');
    if (digits.length >= 8) return `+${digits}`;
  }
  return null;
}

/**
 * A WhatsApp text that carries an ownership code from the hosted page. Returns null when the text holds no
 * code (the caller goes on with keywords and support). Otherwise, inside the caller's transaction, records the
 * opt-in the form asked for, with the evidence of both the form and this message, once; or refuses (unknown or
 * expired code, or a sender whose number is not the one typed in the form) and records nothing.
 */
export async function redeemOwnershipCode(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  inbound: OwnershipInbound,
): Promise<RedeemResult | null> {
  const code = findOwnershipCode(inbound.text);
  if (!code) return null;
  const now = ctx.clock.now();
  const request = await findOwnershipRequestByCode(trx, businessId, ownershipCodeHash(ctx.keyring, businessId, code));
  if (!request) return refuse('unknown_code', 'en', null);
  const lang = request.language;
  const sourceRef = `ownership:${request.id}`;

  if (request.status === 'redeemed') {
    // The same message delivered again (webhooks are at-least-once), or the code sent twice: already done.
    const eventId = request.eventId ?? (await findEventBySource(trx, businessId, sourceRef))?.id ?? '';
    return { outcome: 'recorded', requestId: request.id, duplicate: true, optIn: null, eventId, language: lang };
  }
  if (request.expiresAt <= Math.max(now, inbound.occurredAt)) return refuse('expired', lang, request.id);
  const sender = senderNumber(inbound);
  if (!sender) return refuse('sender_unknown', lang, request.id);
  if (!sameWhatsAppNumber(sender, request.phone)) return refuse('phone_mismatch', lang, request.id);

  // The WhatsApp ids are attached only when they are exactly the typed number, so a person is never merged
  // with another row on a near match.
  const person: PersonRefInput = { phone: request.phone };
  if (sender === request.phone && inbound.waId) person.waId = inbound.waId;
  if (inbound.bsuid) person.bsuid = inbound.bsuid;
  const ref = resolvePersonRef(person, 'phone');
  const input: OptInInput = {
    person,
    topics: request.topicKeys,
    channel: request.channel,
    action: 'checked_box',
    textHash: request.textHash,
    // The opt-in takes effect when the person completed it, on WhatsApp; the form's time stays in the evidence.
    occurredAt: Math.min(inbound.occurredAt, now),
    evidence: {
      ...request.evidence,
      ownershipCheck: 'whatsapp_code',
      ownershipRequestId: request.id,
      messageId: inbound.messageId,
      whatsappSender: sender,
      whatsappAt: inbound.occurredAt,
      ...(inbound.bsuid ? { bsuid: inbound.bsuid } : {}),
    },
    sourceRef,
    actor: 'page:opt-in',
    language: lang,
  };
  let result: OptInResult;
  try {
    checkOptInShape(input, now);
    result = await recordOptInTx(ctx, trx, businessId, input, ref, now);
  } catch (e) {
    // The form was valid when sent; since then a topic was archived, the text withdrawn or the person erased.
    // Those checks all run before anything is written, so the caller's transaction is untouched.
    if (e instanceof AppError) return refuse('not_allowed', lang, request.id);
    throw e;
  }
  await markOwnershipRedeemed(trx, businessId, request.id, result.event.id, now);
  return {
    outcome: 'recorded',
    requestId: request.id,
    duplicate: result.duplicate,
    optIn: result,
    eventId: result.event.id,
    language: lang,
  };
}
