import type { ColumnType } from 'kysely';
import type { ChainedEventFields } from '../domain/consent/model.js';

// Row types of every table, as Kysely sees them. Times are epoch ms; JSON columns are text.
export interface BusinessesTable {
  id: string;
  slug: string;
  display_name: string;
  policy: string;
  created_at: number;
  updated_at: number;
  /** Bumped (by triggers, migration 0005) in the transaction of every policy, name, topic, text or channel write. */
  config_version: number;
}
export interface AdminKeysTable {
  id: string;
  name: string;
  prefix: string;
  key_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}
export interface ApiKeysTable extends AdminKeysTable {
  business_id: string;
  /** read | write | admin (migration 0009; keys created before it are write). */
  role: ColumnType<string, string | undefined, string>;
}
export interface TopicsTable {
  business_id: string;
  id: string;
  key: string;
  name: string;
  description: string | null;
  category: string;
  created_at: number;
  archived_at: number | null;
}
export interface ConsentTextsTable {
  business_id: string;
  hash: string;
  name: string;
  version: number;
  language: string;
  body: string;
  topic_keys: string;
  checks: string;
  usable: number;
  created_at: number;
  /** JSON array of the channels the text may be shown on (migration 0005). */
  channels: string;
}
export interface PeopleTable {
  business_id: string;
  id: string;
  phone_e164: string | null;
  wa_id: string | null;
  bsuid: string | null;
  country: string | null;
  language: string | null;
  timezone: string | null;
  /** When the person chose `timezone` themselves (migration 0013); null: it came from their number. */
  timezone_chosen_at?: number | null;
  created_at: number;
  updated_at: number;
  erased_at: number | null;
  last_inbound_at: number | null;
  unreachable_at: number | null;
  chain_seq: number;
  chain_head: string | null;
  /** The newest order key among the person's conditional events (migration 0006); null when none. */
  cond_key?: number | null;
}
export interface SuppressionsTable {
  business_id: string;
  phone_hash: string;
  reason: string;
  created_at: number;
}
// The ledger row is exactly what the hash chain covers (domain/consent/model.ts), plus the hash itself.
export interface ConsentEventsTable extends ChainedEventFields {
  hash: string;
}
export interface ConsentEvidenceTable {
  business_id: string;
  event_id: string;
  evidence: string;
}
export interface ConsentStateTable {
  business_id: string;
  person_id: string;
  topic_id: string;
  status: string;
  decided_at: number;
  event_id: string;
  updated_at: number;
}
export interface MessagesTable {
  business_id: string;
  id: string;
  person_id: string;
  topic_id: string | null;
  kind: string;
  status: string;
  payload: string;
  idempotency_key: string | null;
  related_event_id: string | null;
  not_before: number;
  attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  provider_message_id: string | null;
  error_code: string | null;
  error_detail: string | null;
  status_at: number | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  // Migration 0004: the message's history as times (NULL on rows written before it). Optional on insert.
  /** When the latest try was claimed (leased to a worker). */
  claimed_at?: number | null;
  /** When its provider call started: set in the same atomic step as the last consent re-check. */
  call_started_at?: number | null;
  /** When the provider's answer (or the call's failure) came back. */
  call_ended_at?: number | null;
  /** When it was cancelled, and why (OPTED_OUT, CONTACT_ERASED, DROPPED, ...). */
  cancelled_at?: number | null;
  cancel_reason?: string | null;
}
export interface InboxTable {
  business_id: string;
  id: string;
  provider: string;
  dedupe_key: string;
  kind: string;
  payload: string;
  received_at: number;
  processed_at: number | null;
  outcome: string | null;
  attempts: number;
}
export interface ChannelAccountsTable {
  business_id: string;
  id: string;
  provider: string;
  external_id: string | null;
  settings: string;
  secret_sealed: string | null;
  created_at: number;
  updated_at: number;
}
export interface ReviewItemsTable {
  business_id: string;
  id: string;
  person_id: string | null;
  source_ref: string;
  reason: string;
  detail: string;
  created_at: number;
  resolved_at: number | null;
  resolution: string | null;
}
export interface UsedTokensTable {
  business_id: string;
  token_id: string;
  used_at: number;
  expires_at: number;
}

export interface DB {
  businesses: BusinessesTable;
  admin_keys: AdminKeysTable;
  api_keys: ApiKeysTable;
  topics: TopicsTable;
  consent_texts: ConsentTextsTable;
  people: PeopleTable;
  suppressions: SuppressionsTable;
  consent_events: ConsentEventsTable;
  consent_evidence: ConsentEvidenceTable;
  consent_state: ConsentStateTable;
  messages: MessagesTable;
  inbox: InboxTable;
  channel_accounts: ChannelAccountsTable;
  review_items: ReviewItemsTable;
  used_tokens: UsedTokensTable;
}

// Opt-in and opt-out off WhatsApp (migration 0002-offwa). Declared as a second `DB` so the first stays untouched.
export interface CaptureSettingsTable {
  business_id: string;
  ownership_check: number;
  default_country: string | null;
  whatsapp_number: string | null;
  updated_at: number;
}
export interface OwnershipRequestsTable {
  business_id: string;
  id: string;
  code_hash: string;
  phone_e164: string;
  topic_keys: string;
  text_hash: string;
  language: string;
  channel: string;
  evidence: string;
  status: string;
  created_at: number;
  expires_at: number;
  redeemed_at: number | null;
  event_id: string | null;
}
export interface InvitationsTable {
  business_id: string;
  id: string;
  channel: string;
  mode: string;
  phone_e164: string | null;
  email_hash: string | null;
  person_id: string | null;
  topic_keys: string;
  text_hash: string;
  language: string;
  message_body: string | null;
  token_id: string;
  provider_message_id: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}
export interface EmailSuppressionsTable {
  business_id: string;
  email_hash: string;
  created_at: number;
}
export interface DB {
  capture_settings: CaptureSettingsTable;
  ownership_requests: OwnershipRequestsTable;
  invitations: InvitationsTable;
  email_suppressions: EmailSuppressionsTable;
}

// Business-level tamper evidence (migration 0003-ledger-seals, services/consent/seal-ledger.ts).
export interface LedgerSealsTable {
  business_id: string;
  seq: number;
  /** 'legacy' (seal 0: the allowance of unkeyed events written before keyed hashes) or 'k1' (keyed). */
  scheme: string;
  sealed_at: number;
  /** People with at least one event covered, and the sum of their sealed chain lengths. */
  people: number;
  events: number;
  legacy_events: number;
  legacy_until: number | null;
  /** Sum mod 2^256 of the keyed MAC of every covered (person, chain_seq, chain_head), as hex. */
  digest: string;
  changed: number;
  /** Events recorded from here (less a grace period) are the next seal's candidates; null: scan everyone. */
  scan_mark: number | null;
  prev_hash: string | null;
  hash: string;
}
export interface LedgerHeadsTable {
  business_id: string;
  person_id: string;
  chain_seq: number;
  chain_head: string;
  seal_seq: number;
}
export interface DB {
  ledger_seals: LedgerSealsTable;
  ledger_heads: LedgerHeadsTable;
}

// Outbound consent webhooks (migration 0008).
export interface WebhookEndpointsTable {
  business_id: string;
  id: string;
  url: string;
  description: string | null;
  /** JSON array of webhook event types (domain/webhooks/events.ts). */
  event_types: string;
  include_phone: number;
  secret_sealed: string;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: number | null;
  consecutive_failures: number;
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}
export interface WebhookDeliveriesTable {
  business_id: string;
  id: string;
  endpoint_id: string;
  event_type: string;
  /** The ledger event or review item this delivery reports. */
  source_id: string;
  person_id: string | null;
  payload: string;
  /** pending | delivered | failed (gave up or endpoint disabled) */
  status: string;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}
export interface DB {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

// The tables of later migrations are typed in schema-operations.ts and merged into DB there.
export type * from './schema-operations.js';
