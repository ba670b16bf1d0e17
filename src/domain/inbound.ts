/**
 * The events channels produce from what arrives (inbound WhatsApp messages, statuses, preferences, quality
 * notices; Twilio SMS and voice callbacks). A channel's parser turns its wire format into these before anything is
 * stored or decided (channels/whatsapp-cloud/payload.ts, channels/twilio/payload.ts); services read only these.
 * Each WhatsApp event stands alone with its own dedupe key, because one POST may batch many entries × changes ×
 * elements and Meta re-delivers at least once. `raw` keeps the element as received, for evidence.
 */

// ---- WhatsApp (Meta Cloud API webhooks) ----

/** One error object as Meta puts it in statuses[].errors, messages[].errors or value.errors. */
export interface WebhookError {
  code: number;
  title?: string;
  message?: string;
  /** `error_data.details` */
  details?: string;
}

export interface MessageItem {
  kind: 'message';
  /** `wa:msg:${messageId}` */
  dedupeKey: string;
  wabaId: string;
  phoneNumberId: string;
  messageId: string;
  timestampMs: number;
  /** User's phone number as Meta sends it (digits, no '+'). Absent for username-only (BSUID) users. */
  from?: string;
  /** contacts[].wa_id; may differ from `from`. */
  waId?: string;
  /** Business-scoped user id (BSUID): `from_user_id` on the message or `user_id` on the contact. */
  userId?: string;
  profileName?: string;
  type: string;
  text?: string;
  button?: { payload?: string; text?: string };
  interactive?: { type: 'button_reply' | 'list_reply'; id: string; title?: string };
  contextMessageId?: string;
  forwarded?: boolean;
  system?: { type: string; body?: string; newWaId?: string };
  /** messages[].errors, e.g. on `unsupported` messages. */
  errors?: WebhookError[];
  raw: unknown;
  /** What was cleaned or cut in the POST this item came in (see payload-clean.ts); absent when nothing was. */
  inputNotes?: string[];
}

export interface StatusItem {
  kind: 'status';
  /** `wa:st:${messageId}:${status}` */
  dedupeKey: string;
  wabaId: string;
  phoneNumberId: string;
  messageId: string;
  status: 'sent' | 'delivered' | 'read' | 'played' | 'failed' | (string & {});
  timestampMs: number;
  recipientId?: string;
  recipientUserId?: string;
  bizOpaque?: string;
  errors: WebhookError[];
  raw: unknown;
  /** What was cleaned or cut in the POST this item came in (see payload-clean.ts); absent when nothing was. */
  inputNotes?: string[];
}

export interface PreferenceItem {
  kind: 'preference';
  /** `wa:pref:${waId ?? userId}:${category}:${value}:${timestampMs}` */
  dedupeKey: string;
  wabaId: string;
  phoneNumberId: string;
  waId?: string;
  userId?: string;
  category: string;
  value: 'stop' | 'resume';
  timestampMs: number;
  detail?: string;
  raw: unknown;
  /** What was cleaned or cut in the POST this item came in (see payload-clean.ts); absent when nothing was. */
  inputNotes?: string[];
}

export interface ErrorItem {
  kind: 'error';
  /** `wa:err:<sha256>` of the change's errors (they carry no id of their own). */
  dedupeKey: string;
  wabaId: string;
  phoneNumberId?: string;
  errors: WebhookError[];
  raw: unknown;
  /** What was cleaned or cut in the POST this item came in (see payload-clean.ts); absent when nothing was. */
  inputNotes?: string[];
}

export interface OtherItem {
  kind: 'other';
  /** `wa:other:<sha256>` of the change (or of the malformed element with its routing context). */
  dedupeKey: string;
  wabaId: string;
  /** metadata.phone_number_id of the change, when it had one: tells which app's secret must have signed it. */
  phoneNumberId?: string;
  field: string;
  raw: unknown;
  /** What was cleaned or cut in the POST this item came in (see payload-clean.ts); absent when nothing was. */
  inputNotes?: string[];
}

/** Meta's quality and template webhooks (channels/whatsapp-cloud/payload-quality.ts), routed by the WABA. */
export interface QualityItem {
  kind: 'quality';
  /** `wa:quality:<sha256>` of the change (Meta gives these no id of their own). */
  dedupeKey: string;
  wabaId: string;
  field: string;
  qualityKind: 'number_quality' | 'template_status' | 'template_category' | 'template_quality';
  /** The display phone number (number_quality) or the template's name. */
  subject: string;
  /** The event (FLAGGED, PAUSED, DISABLED…), the new category, or the new quality score. */
  event: string;
  templateId?: string;
  language?: string;
  reason?: string;
  /** The previous category, quality score or messaging limit. */
  previous?: string;
  currentLimit?: string;
  detail?: string;
  raw: unknown;
  inputNotes?: string[];
}

export type WebhookItem = MessageItem | StatusItem | PreferenceItem | ErrorItem | OtherItem | QualityItem;

/** What names a webhook body's owner: every metadata.phone_number_id, and the WABA ids (entry[].id). */
export interface WebhookRoutingKeys {
  phoneNumberIds: string[];
  wabaIds: string[];
}

// ---- Twilio (SMS and voice callbacks) ----

export type Channel = 'sms' | 'whatsapp';
export type OptOutType = 'STOP' | 'START' | 'HELP';

export interface InboundMessage {
  messageSid: string;
  accountSid?: string;
  messagingServiceSid?: string;
  /** E.164, `whatsapp:` prefix removed. */
  from: string;
  /** Prefix removed; E.164, or a short code for SMS. */
  to: string;
  channel: Channel;
  /** Empty for media-only messages. */
  body: string;
  /** Only sent when the number is in a Messaging Service with Advanced Opt-Out. */
  optOutType?: OptOutType;
  buttonPayload?: string;
  buttonText?: string;
  profileName?: string;
  waId?: string;
  numMedia: number;
}

export interface VoiceCallback {
  callSid: string;
  /** E.164 of the caller. */
  from: string;
  to: string;
  /** DTMF pressed (0-9, *, #); absent when the caller pressed nothing. */
  digits?: string;
  callStatus?: string;
  accountSid?: string;
}
