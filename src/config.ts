/**
 * The only reader of process.env. Everything is parsed once into a typed, frozen Config; a bad value stops
 * the process with a message naming the variable and what it expects.
 */
export interface Config {
  host: string;
  port: number;
  databaseUrl: string | null; // PostgreSQL when set, else SQLite under dataDir
  dataDir: string;
  masterKey: Buffer | null; // encrypts channel secrets, keys phone hashes and link signatures
  publicUrl: string;
  logLevel: string;
  bodyLimitBytes: number;
  webhookBodyLimitBytes: number;
  /** The longest a client may take to send a whole request (headers and body): slow-body connections are cut. */
  requestTimeoutMs: number;
  /** How far V8 lets the heap grow past what the last full collection kept, in percent (0: V8's own, up to 300%). */
  heapGrowthPercent: number;
  worker: { enabled: boolean; pollMs: number; batchSize: number; leaseMs: number; concurrency: number };
  whatsapp: {
    apiUrl: string;
    apiVersion: string;
    appSecret: string | null; // a Meta app shared by many businesses (each may also bring its own)
    verifyToken: string | null;
    defaultRatePerSecond: number;
  };
  twilio: { apiUrl: string };
  smtp: { url: string | null; from: string };
  dbPoolSize: number;
  /** Processed webhook items are kept this many days (support, audits, recognising Meta's retries), then deleted. */
  inboxRetentionDays: number;
  /** Outbound consent webhooks may target private, loopback and link-local addresses (tests, closed networks). */
  webhooksAllowPrivate: boolean;
  /** GET /metrics without a key (default: a platform admin key is needed). */
  metricsPublic: boolean;
  /** Use the built-in fake Cloud API instead of Meta: null = on for `optline start`, off for `optline serve`. */
  sandbox: boolean | null;
  /** Behind a reverse proxy: trust X-Forwarded-For so consent evidence records the person's IP, not the proxy's. */
  trustProxy: boolean | string;
  /** Largest CSV upload to POST /v1/imports (streamed to the database, never held whole). */
  importBodyLimitBytes: number;
  /** For CLI commands that talk to a running server (`optline import --server`): its URL and an API key. */
  client: { serverUrl: string | null; apiKey: string | null };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const problems: string[] = [];
  const str = (k: string, d: string) => (env[k] !== undefined && env[k] !== '' ? env[k]! : d);
  const opt = (k: string) => (env[k] !== undefined && env[k] !== '' ? env[k]! : null);
  const int = (k: string, d: number, min: number, max: number) => {
    const raw = env[k];
    if (raw === undefined || raw === '') return d;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${k} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return d;
    }
    return n;
  };
  const bool = (k: string, d: boolean) => {
    const raw = env[k];
    if (raw === undefined || raw === '') return d;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    problems.push(`${k} must be true or false (got "${raw}")`);
    return d;
  };
  const url = (k: string, d: string | null) => {
    const v = opt(k) ?? d;
    if (v === null) return null;
    try {
      const u = new URL(v);
      return u.toString().replace(/\/$/, '');
    } catch {
      problems.push(`${k} must be a URL (got "${v}")`);
      return d;
    }
  };

  let masterKey: Buffer | null = null;
  const mk = opt('OPTLINE_MASTER_KEY');
  if (mk) {
    masterKey = /^[0-9a-fA-F]{64,}$/.test(mk) ? Buffer.from(mk, 'hex') : Buffer.from(mk, 'base64');
    if (masterKey.length < 32) {
      problems.push('OPTLINE_MASTER_KEY must be at least 32 bytes, as hex or base64 (try: openssl rand -base64 32)');
      masterKey = null;
    }
  }

  const databaseUrl = opt('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite)');
  }
  const port = int('OPTLINE_PORT', int('PORT', 8080, 0, 65535), 0, 65535);

  const cfg: Config = {
    host: str('OPTLINE_HOST', '127.0.0.1'),
    port,
    databaseUrl,
    dataDir: str('OPTLINE_DATA_DIR', './data'),
    masterKey,
    publicUrl: url('OPTLINE_PUBLIC_URL', `http://localhost:${port}`)!,
    logLevel: str('OPTLINE_LOG_LEVEL', 'info'),
    bodyLimitBytes: int('OPTLINE_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    // Meta's webhook payloads are at most 3 MB; a little headroom, and a bound on what a flood can make us hold.
    webhookBodyLimitBytes: int('OPTLINE_WEBHOOK_BODY_LIMIT_BYTES', 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    requestTimeoutMs: int('OPTLINE_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    heapGrowthPercent: int('OPTLINE_HEAP_GROWTH_PERCENT', 50, 0, 300),
    worker: {
      enabled: bool('OPTLINE_WORKER', true),
      pollMs: int('OPTLINE_WORKER_POLL_MS', 200, 5, 60_000),
      batchSize: int('OPTLINE_WORKER_BATCH', 100, 1, 5000),
      leaseMs: int('OPTLINE_WORKER_LEASE_MS', 60_000, 1000, 3_600_000),
      concurrency: int('OPTLINE_WORKER_CONCURRENCY', 64, 1, 1024),
    },
    whatsapp: {
      apiUrl: url('OPTLINE_WHATSAPP_API_URL', 'https://graph.facebook.com')!,
      apiVersion: str('OPTLINE_WHATSAPP_API_VERSION', 'v23.0'),
      appSecret: opt('OPTLINE_META_APP_SECRET'),
      verifyToken: opt('OPTLINE_META_VERIFY_TOKEN'),
      defaultRatePerSecond: int('OPTLINE_WHATSAPP_RATE_PER_SECOND', 80, 1, 10_000),
    },
    twilio: { apiUrl: url('OPTLINE_TWILIO_API_URL', 'https://api.twilio.com')! },
    smtp: { url: opt('OPTLINE_SMTP_URL'), from: str('OPTLINE_SMTP_FROM', 'Optline <no-reply@localhost>') },
    dbPoolSize: int('OPTLINE_DB_POOL_SIZE', 10, 1, 200),
    // Meta retries a webhook for up to 7 days: a processed item must outlive that to be recognised as a retry.
    inboxRetentionDays: int('OPTLINE_INBOX_RETENTION_DAYS', 30, 8, 3650),
    webhooksAllowPrivate: bool('OPTLINE_WEBHOOKS_ALLOW_PRIVATE', false),
    metricsPublic: bool('OPTLINE_METRICS_PUBLIC', false),
    trustProxy: (() => {
      const v = opt('OPTLINE_TRUST_PROXY');
      if (v === null) return false;
      if (['1', 'true', 'yes', 'on'].includes(v.toLowerCase())) return true;
      if (['0', 'false', 'no', 'off'].includes(v.toLowerCase())) return false;
      return v; // a list of addresses or CIDR ranges, as Fastify takes it
    })(),
    importBodyLimitBytes: int('OPTLINE_IMPORT_BODY_LIMIT_BYTES', 256 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    client: { serverUrl: url('OPTLINE_SERVER_URL', null), apiKey: opt('OPTLINE_API_KEY') },
    sandbox:
      env.OPTLINE_SANDBOX === undefined || env.OPTLINE_SANDBOX === '' || env.OPTLINE_SANDBOX === 'auto'
        ? null
        : bool('OPTLINE_SANDBOX', false),
    ...overrides,
  };
  if (!/^(fatal|error|warn|info|debug|trace|silent)$/.test(cfg.logLevel)) {
    problems.push(
      `OPTLINE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${cfg.logLevel}")`,
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(cfg);
}

/** The variables, for `optline config` and the README table. */
export const CONFIG_VARIABLES: ReadonlyArray<{ name: string; default: string; meaning: string }> = [
  { name: 'OPTLINE_PORT', default: '8080', meaning: 'HTTP port (PORT is read too)' },
  { name: 'OPTLINE_HOST', default: '127.0.0.1', meaning: 'address to listen on; 0.0.0.0 in a container' },
  { name: 'DATABASE_URL', default: '(unset: SQLite)', meaning: 'postgres://… to use PostgreSQL' },
  {
    name: 'OPTLINE_DATA_DIR',
    default: './data',
    meaning: 'where the SQLite file (and, for `start`, the generated master key) live',
  },
  {
    name: 'OPTLINE_MASTER_KEY',
    default: '(required for serve)',
    meaning: '32+ random bytes, hex or base64: encrypts channel secrets, keys erased-number hashes and signed links',
  },
  {
    name: 'OPTLINE_PUBLIC_URL',
    default: 'http://localhost:PORT',
    meaning: 'the URL people and providers reach Optline at (links, Twilio signatures)',
  },
  { name: 'OPTLINE_LOG_LEVEL', default: 'info', meaning: 'pino level; phone numbers are masked and secrets redacted' },
  { name: 'OPTLINE_WORKER', default: 'true', meaning: 'run the dispatch worker inside `serve`' },
  { name: 'OPTLINE_WORKER_POLL_MS', default: '200', meaning: 'how often an idle worker looks for due messages' },
  { name: 'OPTLINE_WORKER_CONCURRENCY', default: '64', meaning: 'sends in flight per worker process' },
  { name: 'OPTLINE_WHATSAPP_API_URL', default: 'https://graph.facebook.com', meaning: 'Graph API base URL' },
  { name: 'OPTLINE_WHATSAPP_API_VERSION', default: 'v23.0', meaning: 'pinned Graph API version' },
  {
    name: 'OPTLINE_WHATSAPP_RATE_PER_SECOND',
    default: '80',
    meaning: 'default send rate per business number (Meta default tier)',
  },
  {
    name: 'OPTLINE_META_APP_SECRET',
    default: '(unset)',
    meaning: 'app secret of a Meta app shared by many businesses (webhook signatures)',
  },
  {
    name: 'OPTLINE_META_VERIFY_TOKEN',
    default: '(unset)',
    meaning: 'verify token for the webhook GET handshake of the shared app',
  },
  { name: 'OPTLINE_TWILIO_API_URL', default: 'https://api.twilio.com', meaning: 'Twilio-compatible REST base URL' },
  { name: 'OPTLINE_SMTP_URL', default: '(unset)', meaning: 'smtp://user:pass@host:587 for email invitations' },
  { name: 'OPTLINE_SMTP_FROM', default: 'Optline <no-reply@localhost>', meaning: 'sender of invitation emails' },
  { name: 'OPTLINE_BODY_LIMIT_BYTES', default: '1048576', meaning: 'largest API request body' },
  {
    name: 'OPTLINE_WEBHOOK_BODY_LIMIT_BYTES',
    default: '4194304',
    meaning: 'largest webhook body (Meta sends at most 3 MB)',
  },
  {
    name: 'OPTLINE_REQUEST_TIMEOUT_MS',
    default: '30000',
    meaning: 'a request (headers and body) must arrive within this; slow senders are cut off',
  },
  {
    name: 'OPTLINE_HEAP_GROWTH_PERCENT',
    default: '50',
    meaning:
      'heap growth allowed past the live set before a full GC, every command (bounds peak memory); 0: V8 default',
  },
  { name: 'OPTLINE_DB_POOL_SIZE', default: '10', meaning: 'PostgreSQL connections per process' },
  {
    name: 'OPTLINE_INBOX_RETENTION_DAYS',
    default: '30',
    meaning: 'days processed webhook items are kept (at least 8: Meta retries for 7)',
  },
  {
    name: 'OPTLINE_TRUST_PROXY',
    default: 'false',
    meaning: 'true, or the proxy addresses/CIDRs, when behind a reverse proxy (evidence keeps the real client IP)',
  },
  {
    name: 'OPTLINE_METRICS_PUBLIC',
    default: 'false',
    meaning: 'true: GET /metrics answers without a key (else it needs a platform admin key, ola_…)',
  },
  {
    name: 'OPTLINE_IMPORT_BODY_LIMIT_BYTES',
    default: '268435456',
    meaning: 'largest CSV upload to POST /v1/imports (streamed into the database)',
  },
  {
    name: 'OPTLINE_SERVER_URL',
    default: '(unset)',
    meaning: 'a running Optline for CLI commands to talk to (`optline import` sends the file there)',
  },
  {
    name: 'OPTLINE_API_KEY',
    default: '(unset)',
    meaning: 'the business key (olk_…, write role) the CLI sends with OPTLINE_SERVER_URL',
  },
  {
    name: 'OPTLINE_SANDBOX',
    default: 'auto',
    meaning:
      'true: send WhatsApp to the built-in fake Cloud API (default for `start`); false: to Meta (default for `serve`)',
  },
];
