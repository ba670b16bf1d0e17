// Builders for real-shaped Meta webhook envelopes (tests, `optline simulate`, benchmarks, the fake Cloud
// API's status webhooks), and a sender that signs them the way Meta does.
import { randomBytes } from 'node:crypto';
import { signMetaBody } from './signature.js';

export interface MetaChange {
  field: string;
  value: Record<string, unknown>;
}
export interface MetaEnvelope {
  object: 'whatsapp_business_account';
  entry: { id: string; changes: MetaChange[] }[];
}

export const DEFAULT_WABA_ID = '100000000000001';
export const DEFAULT_DISPLAY_PHONE_NUMBER = '15550000000';

export interface EnvelopeBase {
  phoneNumberId: string;
  wabaId?: string;
  displayPhoneNumber?: string;
}

/** Who sent an inbound message. `from` may be absent for username-only (BSUID) users; then give `userId`. */
export interface InboundBase extends EnvelopeBase {
  from?: string;
  userId?: string;
  profileName?: string;
  /** wamid of the inbound message (random when absent). */
  messageId?: string;
  timestampMs?: number;
  /** wamid of the message this one replies to (context.id). */
  contextMessageId?: string;
  /** Marks the message as forwarded (context.forwarded). */
  forwarded?: boolean;
}

export function randomWamid(): string {
  return `wamid.${randomBytes(24).toString('base64url')}`;
}

function seconds(ms: number | undefined): number {
  return Math.floor((ms ?? Date.now()) / 1000);
}

function envelope(base: EnvelopeBase, field: string, value: Record<string, unknown>): MetaEnvelope {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: base.wabaId ?? DEFAULT_WABA_ID,
        changes: [
          {
            field,
            value: {
              messaging_product: 'whatsapp',
              metadata: {
                display_phone_number: base.displayPhoneNumber ?? DEFAULT_DISPLAY_PHONE_NUMBER,
                phone_number_id: base.phoneNumberId,
              },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

function contact(o: { from?: string; userId?: string; profileName?: string }): Record<string, unknown> {
  const c: Record<string, unknown> = { profile: { name: o.profileName ?? 'Test User' } };
  if (o.from !== undefined) c.wa_id = o.from;
  if (o.userId !== undefined) c.user_id = o.userId;
  return c;
}

function inbound(
  o: InboundBase,
  type: string,
  body: Record<string, unknown>,
  context?: Record<string, unknown>,
): MetaEnvelope {
  if (o.from === undefined && o.userId === undefined) throw new Error('an inbound message needs `from` or `userId`');
  const m: Record<string, unknown> = {};
  if (o.from !== undefined) m.from = o.from;
  // Username-only users arrive without a phone number; the message then names them by BSUID.
  else m.from_user_id = o.userId;
  m.id = o.messageId ?? randomWamid();
  m.timestamp = String(seconds(o.timestampMs));
  m.type = type;
  Object.assign(m, body);
  const ctx: Record<string, unknown> = { ...context };
  if (o.contextMessageId !== undefined)
    Object.assign(ctx, { from: o.displayPhoneNumber ?? DEFAULT_DISPLAY_PHONE_NUMBER, id: o.contextMessageId });
  if (o.forwarded) ctx.forwarded = true;
  if (Object.keys(ctx).length > 0) m.context = ctx;
  return envelope(o, 'messages', { contacts: [contact(o)], messages: [m] });
}

export function inboundText(o: InboundBase & { text: string; id?: string }): MetaEnvelope {
  return inbound({ ...o, messageId: o.messageId ?? o.id }, 'text', { text: { body: o.text } });
}

/** Quick-reply tap on a template: `payload` is our developer payload (or the label), `text` the label. */
export function inboundButton(o: InboundBase & { payload: string; text: string; id?: string }): MetaEnvelope {
  return inbound(
    { ...o, messageId: o.messageId ?? o.id, contextMessageId: o.contextMessageId ?? randomWamid() },
    'button',
    { button: { payload: o.payload, text: o.text } },
  );
}

/** Reply to reply-buttons or a list we sent in-session. `id` is the reply id we set, not the message id. */
export function inboundInteractive(
  o: InboundBase & { replyType: 'button_reply' | 'list_reply'; id: string; title: string; description?: string },
): MetaEnvelope {
  const reply: Record<string, unknown> = { id: o.id, title: o.title };
  if (o.description !== undefined) reply.description = o.description;
  return inbound({ ...o, contextMessageId: o.contextMessageId ?? randomWamid() }, 'interactive', {
    interactive: { type: o.replyType, [o.replyType]: reply },
  });
}

const PREFERENCE_DETAIL = {
  stop: 'User requested to stop marketing messages',
  resume: 'User requested to resume marketing messages',
} as const;

/** `field: user_preferences` change: marketing stop/resume done in WhatsApp's settings. Integer timestamp. */
export function userPreference(
  o: EnvelopeBase & {
    waId: string;
    value: 'stop' | 'resume';
    timestampMs?: number;
    category?: string;
    detail?: string;
    userId?: string;
    profileName?: string;
  },
): MetaEnvelope {
  const pref: Record<string, unknown> = {
    wa_id: o.waId,
    detail: o.detail ?? PREFERENCE_DETAIL[o.value],
    category: o.category ?? 'marketing_messages',
    value: o.value,
    timestamp: seconds(o.timestampMs),
  };
  if (o.userId !== undefined) pref.user_id = o.userId;
  return envelope(o, 'user_preferences', {
    contacts: [contact({ from: o.waId, userId: o.userId, profileName: o.profileName })],
    user_preferences: [pref],
  });
}

/** The older form of the same change: a `system` message with system.type user_preference_changed. */
export function legacyPreferenceSystem(
  o: EnvelopeBase & {
    waId: string;
    value: 'stop' | 'resume';
    messageId?: string;
    id?: string;
    timestampMs?: number;
    profileName?: string;
  },
): MetaEnvelope {
  return envelope(o, 'messages', {
    contacts: [contact({ from: o.waId, profileName: o.profileName })],
    messages: [
      {
        from: o.waId,
        id: o.messageId ?? o.id ?? randomWamid(),
        timestamp: String(seconds(o.timestampMs)),
        type: 'system',
        system: { type: 'user_preference_changed', body: PREFERENCE_DETAIL[o.value], marketing: o.value },
      },
    ],
  });
}

export interface StatusErrorInput {
  code: number;
  title?: string;
  message?: string;
  details?: string;
}

/** Receipt for a message we sent. `errors` only make sense with status `failed`. */
export function statusUpdate(
  o: EnvelopeBase & {
    messageId: string;
    status: 'sent' | 'delivered' | 'read' | 'played' | 'failed' | (string & {});
    recipientId?: string;
    recipientUserId?: string;
    bizOpaque?: string;
    timestampMs?: number;
    errors?: StatusErrorInput[];
    /** pricing.category for sent/delivered/read (default "utility"). */
    pricingCategory?: string;
  },
): MetaEnvelope {
  const s: Record<string, unknown> = { id: o.messageId, status: o.status, timestamp: String(seconds(o.timestampMs)) };
  if (o.recipientId !== undefined) s.recipient_id = o.recipientId;
  if (o.recipientUserId !== undefined) s.recipient_user_id = o.recipientUserId;
  if (o.bizOpaque !== undefined) s.biz_opaque_callback_data = o.bizOpaque;
  if (o.status === 'sent' || o.status === 'delivered' || o.status === 'read') {
    s.pricing = { billable: true, pricing_model: 'PMP', category: o.pricingCategory ?? 'utility', type: 'regular' };
  }
  if (o.errors && o.errors.length > 0) {
    s.errors = o.errors.map((e) => ({
      code: e.code,
      title: e.title ?? `Error ${e.code}`,
      message: e.message ?? e.title ?? `Error ${e.code}`,
      error_data: { details: e.details ?? e.title ?? `Error ${e.code}` },
      href: '/documentation/business-messaging/whatsapp/support/error-codes',
    }));
  }
  return envelope(o, 'messages', { statuses: [s] });
}

/** Merges envelopes into one POST the way Meta may batch: one entry per WABA, changes concatenated. */
export function batch(...envelopes: MetaEnvelope[]): MetaEnvelope {
  const byWaba = new Map<string, MetaChange[]>();
  for (const env of envelopes) {
    for (const e of env.entry) {
      const changes = byWaba.get(e.id) ?? [];
      changes.push(...e.changes);
      byWaba.set(e.id, changes);
    }
  }
  return { object: 'whatsapp_business_account', entry: [...byWaba].map(([id, changes]) => ({ id, changes })) };
}

/** JSON as Meta writes it: non-ASCII characters escaped as \uXXXX (so raw bytes ≠ naive re-serialisation). */
export function metaJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * POSTs an envelope like Meta: Meta-style JSON bytes, X-Hub-Signature-256 over those bytes
 * (`appSecret: null` sends it unsigned, to test refusal). Rejects only on network errors/timeouts.
 */
export async function sendSignedWebhook(
  url: string,
  envelope: object,
  appSecret: string | null,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ status: number; body: string }> {
  const raw = metaJson(envelope);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (appSecret !== null) headers['x-hub-signature-256'] = signMetaBody(raw, appSecret);
  // One controller aborts on either the caller's signal or the timeout; listeners are removed afterwards
  // so a long-lived caller signal does not collect one listener per delivery.
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort(opts.signal?.reason);
  const timer = setTimeout(
    () => ctl.abort(new DOMException('webhook delivery timed out', 'TimeoutError')),
    opts.timeoutMs ?? 10_000,
  );
  if (opts.signal?.aborted) ctl.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: raw,
      redirect: 'manual', // Meta does not follow redirects either.
      signal: ctl.signal,
    });
    return { status: res.status, body: await res.text() };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
