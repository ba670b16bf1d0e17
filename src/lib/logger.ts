import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Anything that looks like an international phone number is masked before it is written.
const PHONE_RE = /\+?\d{10,15}/g;
const mask = (s: string) => s.replace(PHONE_RE, (m) => `${m.slice(0, 4)}****${m.slice(-2)}`);

const isPlain = (v: object) => {
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
};

/** An error as a plain object (type, message, stack, code, cause ...), phone numbers masked. */
function errorOf(e: Error, depth: number): unknown {
  // pino's serialized error has its own prototype: copied to a plain object so its strings are masked.
  return maskDeep({ ...pino.stdSerializers.err(e) }, depth + 1);
}

/**
 * Masks phone numbers in every string of a log object. Runs before pino's serializers (formatters.log), so it
 * must leave alone what a serializer will pick fields from (Fastify's request and reply objects: anything that
 * is not a plain object or array); errors are turned into plain objects here, since Object.entries of an Error
 * is empty and the log would read `"err":{}`.
 */
function maskDeep(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return mask(v);
  if (depth > 6 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return errorOf(v, depth);
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, depth + 1));
  if (!isPlain(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = maskDeep(x, depth + 1);
  return out;
}

/**
 * The process logger. Request logs carry method, url (numbers masked), status and response time; errors carry
 * type, message and stack; headers are never logged, and secret-named fields are redacted wherever they appear.
 * `destination` is for tests that read what was written.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-hub-signature-256"]',
        'req.headers["x-twilio-signature"]',
        '*.accessToken',
        '*.authToken',
        '*.appSecret',
        '*.apiKey',
        '*.password',
        'accessToken',
        'authToken',
        'appSecret',
        'apiKey',
      ],
      censor: '[redacted]',
    },
    formatters: {
      log: (obj) => maskDeep(obj) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const a = args.map((x) => (typeof x === 'string' ? mask(x) : x)) as typeof args;
        method.apply(this, a);
      },
    },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        method: req.method,
        url: mask(String(req.url ?? '')),
        id: req.id,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: (e: unknown) => (e instanceof Error ? errorOf(e, 0) : maskDeep(e)),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
