// Normalised items produced from one Meta webhook POST. Each item stands alone with its own dedupe key,
// because one POST may batch many entries × changes × elements and Meta re-delivers at least once.

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

export type ParseWebhookResult = { ok: true; items: WebhookItem[] } | { ok: false; field: string; message: string };

export interface ParseWebhookOptions {
  /** Used as the timestamp of an element that lacks a usable one (default: Date.now()). */
  receivedAtMs?: number;
}
