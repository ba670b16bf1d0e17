/**
 * Row types of the tables of migrations 0010-0017 (lookups, shared limits, pacing, imports, expiry and quality, the
 * audit log), added to `DB` (and `TopicsTable`) of schema.ts by declaration merging, so schema.ts stays one
 * readable page.
 */
// Imports through the API (migration 0016-import-jobs, storage/import/import-job-store.ts).

export interface ImportJobsTable {
  business_id: string;
  id: string;
  /** consents | opt-outs */
  kind: string;
  /** JSON: the options as given (confirm, dryRun, defaultCountry, text, format, map). */
  options: string;
  /** queued | running | done | failed */
  status: string;
  file_name: string;
  file_hash: string | null;
  file_bytes: number;
  rows_read: number;
  bytes_read: number;
  imported: number;
  duplicates: number;
  refused: number;
  confirmations: number;
  refused_by_code: string;
  rejects_csv: string | null;
  error: string | null;
  attempts: number;
  lease_until: number | null;
  actor: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface ImportJobChunksTable {
  business_id: string;
  job_id: string;
  seq: number;
  /** base64 of up to 1 MiB of the uploaded file */
  data: string;
}

// Consent expiry and the quality guard (migration 0015-expiry-and-quality).

export interface ConsentRepromptsTable {
  business_id: string;
  person_id: string;
  /** The ledger event that decided the consent the prompt asks to renew. */
  event_id: string;
  topic_keys: string;
  message_id: string | null;
  /** queued | no_channel (window closed and no template) */
  outcome: string;
  created_at: number;
}

export interface QualityEventsTable {
  business_id: string;
  id: string;
  /** number_quality | template_status | template_category | template_quality */
  kind: string;
  /** The display phone number or the template name. */
  subject: string;
  event: string;
  detail: string;
  source_ref: string;
  received_at: number;
}

export interface TemplateHealthTable {
  business_id: string;
  name: string;
  /** active | paused | disabled */
  status: string;
  /** meta | opt_out_guard (null when active) */
  paused_by: string | null;
  reason: string | null;
  meta_status: string | null;
  meta_quality: string | null;
  category: string | null;
  detail: string;
  paused_at: number | null;
  resumed_at: number | null;
  updated_at: number;
}

// Migration 0017: topic names per language (JSON object, language -> name) and the audit log of admin actions.

export interface AuditLogTable {
  business_id: string;
  id: string;
  at: number;
  /** `key:<id>` of the key that acted (or `admin:<id>`, `cli`). */
  actor: string;
  action: string;
  target: string | null;
  /** JSON object: what changed, never a secret. */
  detail: string;
}

// Shared across processes (migration 0011, storage/shared/): small reference-style tables, not per business.

export interface RateLimitsTable {
  /** SHA-256 of the limiter key and window (keys hold IPs and phone numbers). */
  key_hash: string;
  hits: number;
  reset_at: number;
}

export interface ProcessLeasesTable {
  name: string;
  holder: string;
  until: number;
  taken_at: number;
}

export interface CacheVersionsTable {
  name: string;
  version: number;
}

// Send pacing shared by every dispatch worker (migration 0012, storage/dispatch/number-pacing-store.ts).

export interface NumberPacingTable {
  business_id: string;
  phone_number_id: string;
  /** GCRA theoretical arrival time of the number's next slot, epoch ms with fractions. */
  tat: number;
  /** Effective rate, msg/s (lowered by a 130429, climbing back to `configured`). */
  rate: number;
  configured: number;
  adjusted_at: number;
  slowed_at: number;
  paused_until: number;
  updated_at: number;
}

export interface RecipientPacingTable {
  business_id: string;
  person_id: string;
  ready_at: number;
  strikes: number;
  updated_at: number;
}

// Global lookups of migration 0010 (reference tables with Citus, docs/scale-out.md): written in the transaction of

// the row they point at, read before the business is known.

export interface KeyLookupTable {
  key_hash: string;
  business_id: string;
  key_id: string;
}

export interface ChannelRoutesTable {
  provider: string;
  external_id: string;
  business_id: string;
  account_id: string;
}

declare module './schema.js' {
  interface DB {
    import_jobs: ImportJobsTable;
    import_job_chunks: ImportJobChunksTable;
  }
  interface DB {
    consent_reprompts: ConsentRepromptsTable;
    quality_events: QualityEventsTable;
    template_health: TemplateHealthTable;
  }
  interface TopicsTable {
    names: string | null;
  }
  interface DB {
    audit_log: AuditLogTable;
  }
  interface DB {
    rate_limits: RateLimitsTable;
    process_leases: ProcessLeasesTable;
    cache_versions: CacheVersionsTable;
  }
  interface DB {
    number_pacing: NumberPacingTable;
    recipient_pacing: RecipientPacingTable;
  }
  interface DB {
    key_lookup: KeyLookupTable;
    channel_routes: ChannelRoutesTable;
  }
}
