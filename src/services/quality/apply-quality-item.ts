import type { QualityItem } from '../../domain/inbound.js';
import type { Trx } from '../../storage/db.js';
import { insertQualityEvent } from '../../storage/quality/quality-events-store.js';
import {
  getTemplateHealth,
  noteMetaTemplate,
  resumeTemplate,
  stopTemplate,
} from '../../storage/quality/template-health-store.js';
import { insertReviewItem } from '../../storage/whatsapp/review-store.js';
import type { ServiceContext } from '../context.js';

/** Meta's template events that stop sending it (132015 / 132016 at send time) and those that end Meta's pause. */
const STOPS: Readonly<Record<string, 'paused' | 'disabled'>> = { PAUSED: 'paused', DISABLED: 'disabled' };
const ENDS_META_PAUSE = new Set(['REINSTATED', 'APPROVED', 'UNPAUSED']);
/** Number events staff should see: the quality rating fell, or the messaging limit went down. */
const NUMBER_ALERTS = new Set(['FLAGGED', 'DOWNGRADE']);

/**
 * One of Meta's quality or template webhooks, in the inbox item's transaction: stored (quality_events, once per
 * item), then applied. A template PAUSED or DISABLED by Meta is stopped for the business (sends refused
 * TEMPLATE_PAUSED) with a review item; REINSTATED lifts a pause Meta made (never one of the opt-out guard's).
 * A flagged or downgraded number gets a review item. Returns the inbox outcome.
 */
export async function applyQualityItemTx(
  ctx: ServiceContext,
  trx: Trx,
  businessId: string,
  item: QualityItem,
  now: number,
): Promise<string> {
  const detail = {
    field: item.field,
    templateId: item.templateId ?? null,
    language: item.language ?? null,
    reason: item.reason ?? null,
    previous: item.previous ?? null,
    currentLimit: item.currentLimit ?? null,
    detail: item.detail ?? null,
  };
  const stored = await insertQualityEvent(
    trx,
    { businessId, kind: item.qualityKind, subject: item.subject, event: item.event, detail, sourceRef: item.dedupeKey },
    now,
  );
  if (!stored) return 'duplicate';
  if (item.qualityKind === 'number_quality') {
    if (!NUMBER_ALERTS.has(item.event)) return 'quality_stored';
    await insertReviewItem(
      trx,
      {
        businessId,
        personId: null,
        sourceRef: item.dedupeKey,
        reason: 'number_quality',
        detail: { phone: item.subject, event: item.event, ...detail },
      },
      now,
    );
    ctx.logger.warn({ businessId, phone: item.subject, event: item.event }, 'WhatsApp number quality update');
    return 'quality_alert';
  }
  const name = item.subject;
  const meta =
    item.qualityKind === 'template_status'
      ? { status: item.event }
      : item.qualityKind === 'template_category'
        ? { category: item.event }
        : { quality: item.event };
  await noteMetaTemplate(trx, businessId, name, meta, now);
  if (item.qualityKind !== 'template_status') return 'quality_stored';
  const stop = STOPS[item.event];
  if (stop) {
    const made = await stopTemplate(
      trx,
      { businessId, name, status: stop, by: 'meta', reason: `meta_${item.event.toLowerCase()}`, detail },
      now,
    );
    if (made) {
      await insertReviewItem(
        trx,
        {
          businessId,
          personId: null,
          sourceRef: item.dedupeKey,
          reason: 'template_paused',
          detail: { template: name, by: 'meta', event: item.event, ...detail },
        },
        now,
      );
      ctx.logger.warn({ businessId, template: name, event: item.event }, 'template stopped by Meta');
    }
    return made ? 'template_paused' : 'quality_stored';
  }
  if (ENDS_META_PAUSE.has(item.event) && (await getTemplateHealth(trx, businessId, name))?.pausedBy === 'meta') {
    await resumeTemplate(trx, businessId, name, now);
    return 'template_resumed';
  }
  return 'quality_stored';
}
