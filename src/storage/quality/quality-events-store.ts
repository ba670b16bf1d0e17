import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import { newId } from '../../lib/ids.js';
import { parseJson } from '../json.js';

type Q = Kysely<DB>;

export type QualityEventKind = 'number_quality' | 'template_status' | 'template_category' | 'template_quality';

export interface QualityEvent {
  id: string;
  kind: QualityEventKind;
  /** The display phone number (number_quality) or the template name. */
  subject: string;
  event: string;
  detail: Record<string, unknown>;
  receivedAt: number;
}

/** Stores one of Meta's quality or template webhooks; false when this webhook item was stored before. */
export async function insertQualityEvent(
  q: Q,
  e: {
    businessId: string;
    kind: QualityEventKind;
    subject: string;
    event: string;
    detail: Record<string, unknown>;
    sourceRef: string;
  },
  now: number,
): Promise<boolean> {
  const made = await q
    .insertInto('quality_events')
    .values({
      business_id: e.businessId,
      id: newId('qev', now),
      kind: e.kind,
      subject: e.subject,
      event: e.event,
      detail: JSON.stringify(e.detail),
      source_ref: e.sourceRef,
      received_at: now,
    })
    .onConflict((oc) => oc.columns(['business_id', 'source_ref']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return !!made;
}

export async function listQualityEvents(
  q: Q,
  businessId: string,
  opts: { kind?: QualityEventKind; limit: number },
): Promise<QualityEvent[]> {
  let sel = q
    .selectFrom('quality_events')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .limit(opts.limit);
  if (opts.kind) sel = sel.where('kind', '=', opts.kind);
  return (await sel.execute()).map((r) => ({
    id: r.id,
    kind: r.kind as QualityEventKind,
    subject: r.subject,
    event: r.event,
    detail: parseJson(r.detail, {}),
    receivedAt: Number(r.received_at),
  }));
}

/** The number's latest quality update (its rating and messaging limit as Meta last reported them), or null. */
export async function latestNumberQuality(q: Q, businessId: string): Promise<QualityEvent | null> {
  const [e] = await listQualityEvents(q, businessId, { kind: 'number_quality', limit: 1 });
  return e ?? null;
}

/** Each of the business's numbers with its latest quality update (by display number), newest first. */
export async function latestNumberQualities(q: Q, businessId: string): Promise<QualityEvent[]> {
  const rows = await q
    .selectFrom('quality_events as e')
    .selectAll('e')
    .where('e.business_id', '=', businessId)
    .where('e.kind', '=', 'number_quality')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('quality_events as f')
            .select('f.id')
            .whereRef('f.business_id', '=', 'e.business_id')
            .where('f.kind', '=', 'number_quality')
            .whereRef('f.subject', '=', 'e.subject')
            .where((eb) =>
              eb.or([
                eb('f.received_at', '>', eb.ref('e.received_at')),
                eb.and([eb('f.received_at', '=', eb.ref('e.received_at')), eb('f.id', '>', eb.ref('e.id'))]),
              ]),
            ),
        ),
      ),
    )
    .orderBy('e.received_at', 'desc')
    .orderBy('e.id', 'desc')
    .limit(100)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind: 'number_quality' as const,
    subject: r.subject,
    event: r.event,
    detail: parseJson(r.detail, {}),
    receivedAt: Number(r.received_at),
  }));
}
