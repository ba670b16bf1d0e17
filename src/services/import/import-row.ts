import { fail, type ErrorCode } from '../../domain/errors.js';
import { textRefusal, topicsRefusal } from '../../domain/consent/opt-in-rules.js';
import { ACTIVE_ACTIONS } from '../../domain/consent/model.js';
import { sha256Hex } from '../../lib/crypto.js';
import { normalisePhone } from '../../lib/phone.js';
import type { Business, Topic } from '../../storage/business/business-store.js';

/**
 * One CSV row of `optline import`, checked in memory. The columns (header names as given; the CLI trims them
 * and makes them lower case):
 *
 *   phone                 required. Any format libphonenumber reads; a national number needs defaultCountry.
 *   topics                required. Topic keys separated by `;` (or `,`): `delivery;billing`.
 *   action                required. The active action the person took, one of ACTIVE_ACTIONS (checked_box,
 *                         submitted_form, tapped_button, ...). An import never infers consent.
 *   occurred_at           required. When the person acted: ISO 8601 date-time WITH a zone
 *                         (`2026-03-01T09:30:00Z`, `2026-03-01T10:30:00+01:00`). The state is ordered by it.
 *   channel               required. Where the consent was collected: web, app, sms, email, ivr, whatsapp, api or
 *                         in_person (a few aliases: website, mobile, text, paper, ...). The event's own channel
 *                         is `import`; this one is kept in its evidence as `originalChannel`.
 *   text_hash             The registered opt-in text the person saw. Defaults to defaultTextHash (`--text`).
 *   confirmation_sent_at  Optional ISO date-time: the source already confirmed this opt-in on WhatsApp, so no
 *                         confirmation is queued for the row; kept in the evidence as `confirmationSentAt`.
 *   evidence_<name>       Optional, any number: kept in the evidence under <name> in camelCase
 *                         (`evidence_ip` -> `ip`, `evidence_page_url` -> `pageUrl`). Empty cells are left out.
 *
 * Other columns are ignored. Every event also gets { file, fileHash, row, originalChannel } as evidence.
 * Rows are numbered from 1, the first record after the header.
 */

export const REQUIRED_COLUMNS = ['phone', 'topics', 'action', 'occurred_at', 'channel'] as const;

/** How the original channel may be written in a file, and the name kept in the evidence. */
export const CHANNEL_ALIASES: Readonly<Record<string, string>> = {
  web: 'web',
  website: 'web',
  online: 'web',
  app: 'app',
  mobile: 'app',
  mobile_app: 'app',
  sms: 'sms',
  text: 'sms',
  email: 'email',
  'e-mail': 'email',
  ivr: 'ivr',
  whatsapp: 'whatsapp',
  api: 'api',
  in_person: 'in_person',
  'in-person': 'in_person',
  'in person': 'in_person',
  paper: 'in_person',
  store: 'in_person',
};
const CHANNEL_NAMES = [...new Set(Object.values(CHANNEL_ALIASES))].join(', ');

export interface RefusedRow {
  row: number;
  code: ErrorCode;
  field: string;
  reason: string;
}

/** What the whole import checks rows against, read once before the first row. */
export interface ImportSetup {
  business: Business;
  topics: Map<string, Topic>;
  texts: Map<string, { usable: boolean; topicKeys: Set<string> }>;
}

export interface RowContext {
  setup: ImportSetup;
  fileName: string;
  fileHash: string;
  defaultCountry?: string;
  defaultTextHash?: string;
  now: number;
  phoneHash: (e164: string) => string;
}

export interface ReadyRow {
  row: number;
  phone: string;
  country: string | null;
  phoneHash: string;
  topics: Topic[];
  topicKeys: string[];
  action: string;
  occurredAt: number;
  textHash: string;
  evidence: Record<string, unknown>;
  sourceRef: string;
  /** False when the source already confirmed the opt-in (confirmation_sent_at). */
  confirm: boolean;
}

export type Checked = { ok: true; row: ReadyRow } | { ok: false; refusal: RefusedRow };

type Cells = Record<string, string | undefined>;

/** A file missing a whole column is refused once, not once per row. */
export function checkColumns(first: Cells, defaultTextHash: string | undefined): void {
  const missing: string[] = REQUIRED_COLUMNS.filter((c) => !(c in first));
  if (!defaultTextHash && !('text_hash' in first)) missing.push('text_hash (or a default text)');
  if (missing.length)
    fail(
      'VALIDATION_FAILED',
      `The file has no ${missing.join(', ')} column. Required: ${REQUIRED_COLUMNS.join(', ')}.`,
      'columns',
    );
}

const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
// As recordOptIn: the clocks of other systems drift a little.
const FUTURE_SLACK_MS = 5 * 60_000;

const refuse = (row: number, code: ErrorCode, field: string, reason: string): Checked => ({
  ok: false,
  refusal: { row, code, field, reason },
});

/** The checks recordOptIn makes that need no database, with the first problem of the row as its refusal. */
export function checkRow(c: RowContext, rec: Cells, row: number): Checked {
  const cell = (k: string) => rec[k]?.trim() ?? '';
  const rawPhone = cell('phone');
  const phone = normalisePhone(rawPhone, c.defaultCountry);
  if (!phone.ok)
    return refuse(row, 'INVALID_PHONE', 'phone', `"${rawPhone}" is not a usable phone number: ${phone.reason}.`);

  const action = cell('action');
  if (!(ACTIVE_ACTIONS as readonly string[]).includes(action)) {
    return refuse(
      row,
      'NO_USER_ACTION',
      'action',
      `"${action}" is not an active user action; consent needs one of: ${ACTIVE_ACTIONS.join(', ')}.`,
    );
  }
  const occurredAt = parseInstant(cell('occurred_at'));
  if (typeof occurredAt === 'string')
    return refuse(row, 'VALIDATION_FAILED', 'occurred_at', `occurred_at ${occurredAt}.`);
  if (occurredAt > c.now + FUTURE_SLACK_MS)
    return refuse(row, 'VALIDATION_FAILED', 'occurred_at', 'occurred_at is in the future.');
  const originalChannel = CHANNEL_ALIASES[cell('channel').toLowerCase()];
  if (!originalChannel)
    return refuse(
      row,
      'VALIDATION_FAILED',
      'channel',
      `"${cell('channel')}" is not a channel; say where the consent was collected: ${CHANNEL_NAMES}.`,
    );

  const topicKeys = [
    ...new Set(
      cell('topics')
        .split(/[;,]/)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ].sort();
  if (topicKeys.length === 0) return refuse(row, 'VALIDATION_FAILED', 'topics', 'Name at least one topic.');
  const { business, topics: known, texts } = c.setup;
  const topicRefusal = topicsRefusal(topicKeys, (k) => known.get(k), business.policy.allowedCategories);
  if (topicRefusal) return refuse(row, topicRefusal.code, 'topics', topicRefusal.message);
  const topics = topicKeys.map((k) => known.get(k)!);

  const textHash = cell('text_hash') || c.defaultTextHash || '';
  if (!textHash)
    return refuse(
      row,
      'MISSING_EVIDENCE',
      'text_hash',
      'Give text_hash (or a default text): the exact opt-in text the person saw must be kept with their consent.',
    );
  const text = texts.get(textHash);
  const textRefused = textRefusal(text && { usable: text.usable, covers: (k) => text.topicKeys.has(k) }, topicKeys);
  if (textRefused) return refuse(row, textRefused.code, 'text_hash', textRefused.message);

  const evidence: Record<string, unknown> = {};
  for (const k in rec) {
    if (k.length > 9 && k.startsWith('evidence_')) {
      const v = cell(k);
      if (v !== '') evidence[evidenceKey(k)] = v;
    }
  }
  let confirm = true;
  const confirmedAt = cell('confirmation_sent_at');
  if (confirmedAt) {
    const at = parseInstant(confirmedAt);
    if (typeof at === 'string')
      return refuse(row, 'VALIDATION_FAILED', 'confirmation_sent_at', `confirmation_sent_at ${at}.`);
    evidence.confirmationSentAt = new Date(at).toISOString();
    confirm = false;
  }
  // Written last, so no column can pose as the file or row the proof points to.
  evidence.file = c.fileName;
  evidence.fileHash = c.fileHash;
  evidence.row = row;
  evidence.originalChannel = originalChannel;

  const sourceRef = importSourceRef(business.id, phone.e164, topicKeys, occurredAt, action, textHash);
  return {
    ok: true,
    row: {
      row,
      phone: phone.e164,
      country: phone.country ?? null,
      phoneHash: c.phoneHash(phone.e164),
      topics,
      topicKeys,
      action,
      occurredAt,
      textHash,
      evidence,
      sourceRef,
      confirm,
    },
  };
}

/**
 * One consent has one source_ref whatever file (or renamed copy of it) it arrives in, and whatever its
 * evidence columns say, so importing it again is recognised as a duplicate. `topicKeys` sorted.
 */
export function importSourceRef(
  businessId: string,
  e164: string,
  topicKeys: string[],
  occurredAt: number,
  action: string,
  textHash: string,
): string {
  return `import:${sha256Hex(JSON.stringify([businessId, e164, topicKeys, occurredAt, action, textHash]))}`;
}

function parseInstant(s: string): number | string {
  if (!s) return 'is required: when the person acted, as an ISO 8601 date-time';
  const ymd = ISO_WITH_ZONE.exec(s);
  if (!ymd) return `"${s}" is not an ISO 8601 date-time with a time zone (for example 2026-03-01T09:30:00Z)`;
  const t = Date.parse(s.replace(' ', 'T'));
  // Date.parse rolls 2026-02-30 over into March; a date that does not exist is a typo, not a consent time.
  const d = Number(ymd[3]);
  if (Number.isNaN(t) || new Date(Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, d)).getUTCDate() !== d)
    return `"${s}" is not a real date`;
  return t;
}

// Column names repeat on every row: each is turned into its evidence key once.
const evidenceKeys = new Map<string, string>();
function evidenceKey(column: string): string {
  let key = evidenceKeys.get(column);
  if (key === undefined) {
    key = column
      .slice(9)
      .toLowerCase()
      .replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
    if (evidenceKeys.size < 1000) evidenceKeys.set(column, key);
  }
  return key;
}

/** Rows checked a batch at a time, in file order; `total` counts every record so far, refused or not. */
export interface CheckedBatch {
  ready: ReadyRow[];
  refused: RefusedRow[];
  total: number;
  /** Bytes of the file read so far (for a progress bar), when known. */
  bytes: number;
}

/** Checks records in batches of `batchSize` (the first record's columns once, before any row). */
export async function* checkBatches(
  records: AsyncIterable<Cells>,
  c: RowContext,
  batchSize: number,
  bytesRead: () => number = () => 0,
): AsyncGenerator<CheckedBatch> {
  let out: CheckedBatch = { ready: [], refused: [], total: 0, bytes: 0 };
  let total = 0;
  for await (const record of records) {
    total += 1;
    if (total === 1) checkColumns(record, c.defaultTextHash);
    const checked = checkRow(c, record, total);
    if (checked.ok) out.ready.push(checked.row);
    else out.refused.push(checked.refusal);
    if (total % batchSize === 0) {
      yield { ...out, total, bytes: bytesRead() };
      out = { ready: [], refused: [], total: 0, bytes: 0 };
    }
  }
  if (total % batchSize !== 0 || total === 0) yield { ...out, total, bytes: bytesRead() };
}
