import pino, { type Logger } from 'pino';

export type { Logger };

// Anything that looks like an international phone number is masked before it is written.
const PHONE_RE = /\+?\d{10,15}/g;
const mask = (s: string) => s.replace(PHONE_RE, (m) => `${m.slice(0, 4)}****${m.slice(-2)}`);

function maskDeep(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return mask(v);
  if (depth > 6 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = maskDeep(x, depth + 1);
  return out;
}

export function createLogger(level: string): Logger {
  return pino({
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
    },
  });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
