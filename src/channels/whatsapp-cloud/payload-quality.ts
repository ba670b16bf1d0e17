// Meta's account-level webhooks about quality (entry[].id is the WABA; they carry no metadata.phone_number_id):
// - phone_number_quality_update: {display_phone_number, event: FLAGGED|UNFLAGGED|UPGRADE|DOWNGRADE|THROUGHPUT_UPGRADE,
//   current_limit, old_limit?, max_daily_conversations_per_business?}
// - message_template_status_update: {event: APPROVED|REJECTED|PAUSED|DISABLED|REINSTATED|FLAGGED|PENDING_DELETION…,
//   message_template_id, message_template_name, message_template_language, reason, other_info?: {title, description}}
// - template_category_update: {message_template_id, message_template_name, message_template_language,
//   previous_category, new_category}
// - message_template_quality_update: {previous_quality_score, new_quality_score, message_template_id,
//   message_template_name, message_template_language}
import { compact, idString, rec, sha256Json, str, type Rec } from './payload-fields.js';
import type { OtherItem, QualityItem } from './payload-types.js';

export const QUALITY_FIELDS: Readonly<Record<string, QualityItem['qualityKind']>> = {
  phone_number_quality_update: 'number_quality',
  message_template_status_update: 'template_status',
  template_category_update: 'template_category',
  message_template_quality_update: 'template_quality',
};

const upper = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 64 ? v.toUpperCase() : undefined);
const short = (v: unknown, n = 500) => (typeof v === 'string' && v.length > 0 ? v.slice(0, n) : undefined);

/** One quality change as an item, or an `other` item when it names no subject or event (kept, never acted on). */
export function parseQualityChange(
  wabaId: string,
  field: string,
  value: Rec,
  change: unknown,
): QualityItem | OtherItem {
  const qualityKind = QUALITY_FIELDS[field]!;
  const dedupeKey = `wa:quality:${sha256Json(change)}`;
  const template = short(value.message_template_name, 512);
  const subject = qualityKind === 'number_quality' ? short(value.display_phone_number, 32) : template;
  const event =
    qualityKind === 'template_category'
      ? upper(value.new_category)
      : qualityKind === 'template_quality'
        ? upper(value.new_quality_score)
        : upper(value.event);
  if (!subject || !event)
    return compact({ kind: 'other' as const, dedupeKey: `wa:other:${sha256Json(change)}`, wabaId, field, raw: change });
  return compact({
    kind: 'quality' as const,
    dedupeKey,
    wabaId,
    field,
    qualityKind,
    subject,
    event,
    templateId: idString(value.message_template_id),
    language: short(value.message_template_language, 15),
    reason: short(value.reason),
    previous: upper(value.previous_category) ?? upper(value.previous_quality_score) ?? upper(value.old_limit),
    currentLimit: upper(value.current_limit),
    detail: short(str(rec(value.other_info)?.description)),
    raw: change,
  });
}
