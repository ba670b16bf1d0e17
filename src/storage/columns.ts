/**
 * The columns of the rows written whole by the fast writers (the opt-in's prepared statements and CTEs, the
 * import's multi-row inserts), in one order, and which of them are numbers: one list per table for every writer.
 */
export const PEOPLE_COLUMNS = [
  'business_id',
  'id',
  'phone_e164',
  'wa_id',
  'bsuid',
  'country',
  'language',
  'timezone',
  'created_at',
  'updated_at',
  'erased_at',
  'last_inbound_at',
  'unreachable_at',
  'chain_seq',
  'chain_head',
  'cond_key',
] as const;
export const EVENT_COLUMNS = [
  'business_id',
  'id',
  'person_id',
  'seq',
  'type',
  'scope',
  'topic_keys',
  'channel',
  'action',
  'text_hash',
  'occurred_at',
  'recorded_at',
  'source_ref',
  'actor',
  'evidence_hash',
  'prev_hash',
  'hash',
  'occurred_precision_ms',
] as const;
export const MESSAGE_COLUMNS = [
  'business_id',
  'id',
  'person_id',
  'topic_id',
  'kind',
  'status',
  'payload',
  'idempotency_key',
  'related_event_id',
  'not_before',
  'attempts',
  'lease_owner',
  'lease_until',
  'provider_message_id',
  'error_code',
  'error_detail',
  'status_at',
  'created_at',
  'updated_at',
  'sent_at',
] as const;
const BIGINT: ReadonlySet<string> = new Set([
  'decided_at',
  'created_at',
  'updated_at',
  'erased_at',
  'last_inbound_at',
  'unreachable_at',
  'occurred_at',
  'recorded_at',
  'not_before',
  'lease_until',
  'status_at',
  'sent_at',
  'cond_key',
]);
const INTEGER: ReadonlySet<string> = new Set(['chain_seq', 'seq', 'attempts', 'occurred_precision_ms']);

/** The PostgreSQL type a parameter of column `c` is cast to. */
export const pgType = (c: string) => (BIGINT.has(c) ? 'bigint' : INTEGER.has(c) ? 'integer' : 'text');

/** The numeric columns among `columns` (bulk-insert casts them). */
export const numericColumns = <C extends string>(columns: readonly C[]): C[] =>
  columns.filter((c) => BIGINT.has(c) || INTEGER.has(c));
