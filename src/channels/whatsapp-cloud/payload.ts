// Walks a Meta webhook envelope: every entry, every change, every array element (never `[0]`: Meta may
// batch). Only a structurally unusable envelope is refused; anything odd deeper down becomes an `other`
// item so it is still stored and the rest of the batch is still processed.
import { compact, idString, isRecord, rec, sha256Json, str } from './payload-fields.js';
import { cleanWebhookString } from './payload-clean.js';
import { malformed, parseChangeErrors, parseMessage, parsePreference, parseStatus } from './payload-elements.js';
import type { ChangeCtx } from './payload-elements.js';
import type { ParseWebhookOptions, ParseWebhookResult, WebhookItem } from './payload-types.js';
import { parseQualityChange, QUALITY_FIELDS } from './payload-quality.js';

export type {
  ErrorItem,
  MessageItem,
  OtherItem,
  ParseWebhookOptions,
  ParseWebhookResult,
  PreferenceItem,
  QualityItem,
  StatusItem,
  WebhookError,
  WebhookItem,
} from './payload-types.js';

export type { WebhookRoutingKeys } from '../../domain/inbound.js';
import type { WebhookRoutingKeys } from '../../domain/inbound.js';

/**
 * The routing keys of a parsed (not yet cleaned) body, read at their fixed places and cleaned by the same rule as
 * the parser will (so they equal the items' keys). Cheap, and safe on any input: it is run before the signature is
 * checked, to learn whose secret must have signed the body.
 */
export function webhookRoutingKeys(body: unknown): WebhookRoutingKeys {
  const phoneNumberIds = new Set<string>();
  const wabaIds = new Set<string>();
  const entries = rec(body)?.entry;
  for (const entry of Array.isArray(entries) ? entries : []) {
    const waba = routingId(rec(entry)?.id);
    if (waba) wabaIds.add(waba);
    const changes = rec(entry)?.changes;
    for (const change of Array.isArray(changes) ? changes : []) {
      const pnid = routingId(rec(rec(rec(change)?.value)?.metadata)?.phone_number_id);
      if (pnid) phoneNumberIds.add(pnid);
    }
  }
  return { phoneNumberIds: [...phoneNumberIds], wabaIds: [...wabaIds] };
}

const routingId = (v: unknown) => idString(typeof v === 'string' ? cleanWebhookString(v) : v);

export function parseWebhook(body: unknown, opts: ParseWebhookOptions = {}): ParseWebhookResult {
  if (!isRecord(body)) return { ok: false, field: 'body', message: 'expected a JSON object' };
  if (body.object !== 'whatsapp_business_account') {
    return {
      ok: false,
      field: 'object',
      message:
        body.object === undefined
          ? 'missing; expected "whatsapp_business_account"'
          : `expected "whatsapp_business_account", got ${JSON.stringify(body.object)}`,
    };
  }
  if (!Array.isArray(body.entry)) return { ok: false, field: 'entry', message: 'expected an array' };

  const receivedAtMs = opts.receivedAtMs ?? Date.now();
  const items: WebhookItem[] = [];
  for (const entry of body.entry) {
    const wabaId = idString(rec(entry)?.id) ?? '';
    const changes = rec(entry)?.changes;
    if (!Array.isArray(changes)) {
      items.push(malformed({ wabaId, field: 'entry', phoneNumberId: undefined, contacts: [], receivedAtMs }, entry));
      continue;
    }
    for (const change of changes) items.push(...parseChange(wabaId, change, receivedAtMs));
  }
  return { ok: true, items };
}

function parseChange(wabaId: string, change: unknown, receivedAtMs: number): WebhookItem[] {
  const c = rec(change);
  const field = str(c?.field) ?? 'unknown';
  const value = rec(c?.value);
  const ctx: ChangeCtx = {
    wabaId,
    field,
    phoneNumberId: idString(rec(value?.metadata)?.phone_number_id),
    contacts: Array.isArray(value?.contacts) ? value.contacts.filter(isRecord) : [],
    receivedAtMs,
  };
  if (!value) return [malformed(ctx, change)];

  const out: WebhookItem[] = [];
  const each = (key: string, parse: (ctx: ChangeCtx, el: unknown) => WebhookItem): void => {
    const list = value[key];
    if (list === undefined) return;
    if (!Array.isArray(list)) out.push(malformed(ctx, list));
    else for (const el of list) out.push(parse(ctx, el));
  };

  if (field === 'messages') {
    each('messages', parseMessage);
    each('statuses', parseStatus);
  } else if (field === 'user_preferences') {
    each('user_preferences', parsePreference);
  } else if (Object.hasOwn(QUALITY_FIELDS, field)) {
    return [parseQualityChange(wabaId, field, value, change)];
  } else {
    // account_update, message_template_status_update, smb_message_echoes, history…: not consent events.
    // (Echoes and history also carry messages[], but those are not inbound user messages.)
    return [
      compact({
        kind: 'other' as const,
        dedupeKey: `wa:other:${sha256Json(change)}`,
        wabaId,
        phoneNumberId: ctx.phoneNumberId,
        field,
        raw: change,
      }),
    ];
  }
  if (Array.isArray(value.errors) && value.errors.length > 0) out.push(parseChangeErrors(ctx, value.errors));
  // A known field with nothing we understand is still worth keeping.
  if (out.length === 0)
    out.push(
      compact({
        kind: 'other' as const,
        dedupeKey: `wa:other:${sha256Json(change)}`,
        wabaId,
        phoneNumberId: ctx.phoneNumberId,
        field,
        raw: change,
      }),
    );
  return out;
}
