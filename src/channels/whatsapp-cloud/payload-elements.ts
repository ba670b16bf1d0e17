// Parsers for single elements of a change's value: messages[], statuses[], user_preferences[], errors[].
// Each returns exactly one item; an element that cannot be used becomes an `other` item (stored, ignored)
// instead of throwing, so one bad element never costs the rest of the batch.
import {
  compact,
  idString,
  isRecord,
  nonEmpty,
  parseErrors,
  rec,
  sha256Json,
  str,
  toEpochMs,
} from './payload-fields.js';
import type { Rec } from './payload-fields.js';
import type { ErrorItem, MessageItem, OtherItem, PreferenceItem, StatusItem, WebhookItem } from './payload-types.js';

export interface ChangeCtx {
  wabaId: string;
  field: string;
  /** metadata.phone_number_id; messages, statuses and preferences cannot be routed without it. */
  phoneNumberId: string | undefined;
  contacts: Rec[];
  receivedAtMs: number;
}

export function malformed(ctx: ChangeCtx, element: unknown): OtherItem {
  const key = sha256Json({ wabaId: ctx.wabaId, phoneNumberId: ctx.phoneNumberId, field: ctx.field, element });
  return compact({
    kind: 'other' as const,
    dedupeKey: `wa:other:${key}`,
    wabaId: ctx.wabaId,
    phoneNumberId: ctx.phoneNumberId,
    field: ctx.field,
    raw: element,
  });
}

/** Contact for a message: same wa_id as `from`, else same BSUID, else the only contact present. */
function matchContact(contacts: Rec[], from?: string, userId?: string): Rec | undefined {
  if (from !== undefined) {
    const byWaId = contacts.find((c) => idString(c.wa_id) === from);
    if (byWaId) return byWaId;
  }
  if (userId !== undefined) {
    const byUser = contacts.find((c) => str(c.user_id) === userId);
    if (byUser) return byUser;
  }
  return contacts.length === 1 ? contacts[0] : undefined;
}

function preferenceValue(v: unknown): 'stop' | 'resume' | undefined {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  return s === 'stop' || s === 'resume' ? s : undefined;
}

function preferenceItem(
  ctx: ChangeCtx,
  phoneNumberId: string,
  f: Pick<PreferenceItem, 'waId' | 'userId' | 'category' | 'value' | 'timestampMs' | 'detail'>,
  raw: unknown,
): PreferenceItem {
  return compact({
    kind: 'preference' as const,
    dedupeKey: `wa:pref:${f.waId ?? f.userId}:${f.category}:${f.value}:${f.timestampMs}`,
    wabaId: ctx.wabaId,
    phoneNumberId,
    waId: f.waId,
    userId: f.userId,
    category: f.category,
    value: f.value,
    timestampMs: f.timestampMs,
    detail: f.detail,
    raw,
  });
}

export function parseMessage(ctx: ChangeCtx, m: unknown): WebhookItem {
  if (!isRecord(m)) return malformed(ctx, m);
  const messageId = nonEmpty(m.id);
  const phoneNumberId = ctx.phoneNumberId;
  if (messageId === undefined || phoneNumberId === undefined) return malformed(ctx, m);

  const from = idString(m.from);
  const fromUserId = nonEmpty(m.from_user_id) ?? nonEmpty(m.user_id);
  const contact = matchContact(ctx.contacts, from, fromUserId);
  const waId = idString(contact?.wa_id);
  const userId = fromUserId ?? nonEmpty(contact?.user_id);
  const timestampMs = toEpochMs(m.timestamp) ?? ctx.receivedAtMs;
  const type = nonEmpty(m.type) ?? 'unknown';

  const sys = rec(m.system);
  // Older payloads reported the Meta-side marketing opt-out as a system message; it means the same
  // thing as a user_preferences change, so it becomes the same kind of item.
  if (type === 'system' && sys && str(sys.type) === 'user_preference_changed') {
    const value = preferenceValue(sys.marketing);
    const who = waId ?? from;
    if (value !== undefined && (who !== undefined || userId !== undefined)) {
      return preferenceItem(
        ctx,
        phoneNumberId,
        { waId: who, userId, category: 'marketing_messages', value, timestampMs, detail: str(sys.body) },
        m,
      );
    }
  }

  const context = rec(m.context);
  const button = rec(m.button);
  const errors = parseErrors(m.errors);
  return compact<MessageItem>({
    kind: 'message',
    dedupeKey: `wa:msg:${messageId}`,
    wabaId: ctx.wabaId,
    phoneNumberId,
    messageId,
    timestampMs,
    from,
    waId,
    userId,
    profileName: str(rec(contact?.profile)?.name),
    type,
    text: type === 'text' ? str(rec(m.text)?.body) : undefined,
    button: type === 'button' && button ? compact({ payload: str(button.payload), text: str(button.text) }) : undefined,
    interactive: type === 'interactive' ? parseInteractive(m.interactive) : undefined,
    contextMessageId: nonEmpty(context?.id),
    forwarded: context?.forwarded === true || context?.frequently_forwarded === true ? true : undefined,
    system: sys
      ? compact({
          type: str(sys.type) ?? 'unknown',
          body: str(sys.body),
          // Cloud API says `wa_id`; the On-Premises shape said `new_wa_id`.
          newWaId: idString(sys.wa_id) ?? idString(sys.new_wa_id),
        })
      : undefined,
    errors: errors.length > 0 ? errors : undefined,
    raw: m,
  });
}

function parseInteractive(v: unknown): MessageItem['interactive'] {
  const i = rec(v);
  const type = str(i?.type);
  // Other interactive replies (e.g. nfm_reply from Flows) carry no consent-relevant id.
  if (!i || (type !== 'button_reply' && type !== 'list_reply')) return undefined;
  const reply = rec(i[type]);
  const id = nonEmpty(reply?.id);
  if (id === undefined) return undefined;
  return compact<NonNullable<MessageItem['interactive']>>({ type, id, title: str(reply?.title) });
}

export function parseStatus(ctx: ChangeCtx, s: unknown): WebhookItem {
  if (!isRecord(s)) return malformed(ctx, s);
  const messageId = nonEmpty(s.id);
  const status = nonEmpty(s.status);
  const phoneNumberId = ctx.phoneNumberId;
  if (messageId === undefined || status === undefined || phoneNumberId === undefined) return malformed(ctx, s);
  return compact<StatusItem>({
    kind: 'status',
    dedupeKey: `wa:st:${messageId}:${status}`,
    wabaId: ctx.wabaId,
    phoneNumberId,
    messageId,
    status,
    // Statuses arrive out of order; consumers order by this, never by arrival.
    timestampMs: toEpochMs(s.timestamp) ?? ctx.receivedAtMs,
    recipientId: idString(s.recipient_id),
    recipientUserId: nonEmpty(s.recipient_user_id),
    bizOpaque: str(s.biz_opaque_callback_data),
    errors: parseErrors(s.errors),
    raw: s,
  });
}

export function parsePreference(ctx: ChangeCtx, p: unknown): WebhookItem {
  if (!isRecord(p)) return malformed(ctx, p);
  const phoneNumberId = ctx.phoneNumberId;
  const waId = idString(p.wa_id);
  const contact = waId !== undefined ? ctx.contacts.find((c) => idString(c.wa_id) === waId) : undefined;
  const userId = nonEmpty(p.user_id) ?? nonEmpty(contact?.user_id);
  const value = preferenceValue(p.value);
  // `signup` and any future value are not stop/resume: keep them, but as `other`.
  if (phoneNumberId === undefined || value === undefined || (waId === undefined && userId === undefined)) {
    return malformed(ctx, p);
  }
  return preferenceItem(
    ctx,
    phoneNumberId,
    {
      waId,
      userId,
      category: nonEmpty(p.category) ?? 'marketing_messages',
      value,
      timestampMs: toEpochMs(p.timestamp) ?? ctx.receivedAtMs,
      detail: str(p.detail),
    },
    p,
  );
}

/** value.errors[] of one change: out-of-band errors, reported together as one item. */
export function parseChangeErrors(ctx: ChangeCtx, v: unknown[]): ErrorItem {
  return compact<ErrorItem>({
    kind: 'error',
    dedupeKey: `wa:err:${sha256Json({ wabaId: ctx.wabaId, phoneNumberId: ctx.phoneNumberId, errors: v })}`,
    wabaId: ctx.wabaId,
    phoneNumberId: ctx.phoneNumberId,
    errors: parseErrors(v),
    raw: v,
  });
}
