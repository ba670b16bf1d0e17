// A real HTTP server on 127.0.0.1 that answers like Meta's Cloud API send endpoint
// (POST /<version>/<phone_number_id>/messages): Meta's success and error shapes, throughput and pair
// limits, injected failures, and signed status webhooks for accepted messages. Used by tests, benchmarks
// and as the sandbox provider of `npm start`, so it must stay bounded and never crash on a bad peer.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { classifyMetaError } from './errors.js';
import { SlidingWindow } from './fake-rate-window.js';
import { recipientKeyOf, validateSendBody } from './fake-send-validation.js';
import { WebhookEmitter } from './fake-webhook-emitter.js';
import type { WebhookJob } from './fake-webhook-emitter.js';
import { DEFAULT_WABA_ID, randomWamid, statusUpdate } from './webhook-builders.js';

export interface FakeCloudApiOptions {
  /** Default 0 (any free port). Always bound on 127.0.0.1. */
  port?: number;
  /** Added before each response. */
  latencyMs?: number;
  /** If set, any other Bearer token gets 401 code 190. A missing token always does. */
  acceptedTokens?: string[];
  /** Per phone_number_id, sliding 1 s window; above it: 429 code 130429. */
  throughputPerSecond?: number;
  /** Told of every 130429 the throughput limit produced (tests time the reaction of every worker to it). */
  onThroughputRejected?: (phoneNumberId: string, at: number) => void;
  /** Per (phone_number_id, recipient); above it: 429 code 131056. */
  pairLimit?: { max: number; windowMs: number };
  /** Signed status webhooks (Meta envelope, X-Hub-Signature-256) for every accepted message. */
  webhook?: {
    url: string;
    appSecret: string;
    /** Default ['sent', 'delivered']. */
    statuses?: ('sent' | 'delivered' | 'read')[];
    /** Wait before the first webhook of a message. */
    delayMs?: number;
    /** POSTs in flight at once (default 32). */
    concurrency?: number;
  };
  /** Most records kept in `sent` (default 100000); when exceeded the oldest tenth is dropped. */
  sentCap?: number;
  /** WABA id put in status webhooks (default DEFAULT_WABA_ID). */
  wabaId?: string;
  /** Clock for rate windows, `sent[].at` and webhook timestamps; tests inject one to avoid real waits. */
  now?: () => number;
}

export interface FakeSentRecord {
  phoneNumberId: string;
  body: any;
  messageId: string;
  at: number;
}

export interface FakeCloudApiCounts {
  /** Answered 200 (including sends that then fail by status webhook). */
  accepted: number;
  /** Answered with an HTTP error. */
  rejected: number;
  /** Meta error codes produced, HTTP and status-webhook failures alike. */
  byCode: Record<string, number>;
  webhooks: { delivered: number; failed: number; dropped: number };
}

export interface FakeCloudApi {
  /** e.g. http://127.0.0.1:PORT; the client posts to `${url}/${version}/${phoneNumberId}/messages`. */
  url: string;
  sent: FakeSentRecord[];
  /** The next send to `to` (phone, with or without '+', or BSUID) fails with `code`: as an HTTP error, or
   *  with `asStatus` accepted (200) and then a `failed` status webhook carrying the code (how 131050 arrives). */
  failNext(to: string, code: number, opts?: { asStatus?: boolean }): void;
  failAlways(to: string, code: number, opts?: { asStatus?: boolean }): void;
  clearFailures(): void;
  counts(): FakeCloudApiCounts;
  /** Resolves when every status webhook scheduled so far has been delivered or has failed. */
  flushWebhooks(): Promise<void>;
  close(): Promise<void>;
}

type Failure = { code: number; asStatus: boolean };

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_FAILURE_KEYS = 10_000;
const MAX_QUEUED_FAILURES = 1_000;

const TITLES: Record<number, string> = {
  100: 'Invalid parameter',
  190: 'Invalid OAuth access token',
  130429: 'Rate limit hit',
  131056: '(Business Account, Consumer Account) pair rate limit hit',
  131050: 'Unable to deliver message: user stopped marketing messages',
  131049: 'This message was not delivered to maintain healthy ecosystem engagement.',
  131047: 'Re-engagement message',
  131026: 'Message undeliverable',
};

/** HTTP status Meta is reported to use for a code (Meta says to branch on the code, not on this). */
function httpStatusFor(code: number): number {
  if (code === 130429 || code === 131056 || code === 4 || code === 80007) return 429;
  if (code === 0 || code === 190) return 401;
  if (code === 10 || (code >= 200 && code <= 299) || code === 368 || code === 131031 || code === 130497) return 403;
  if (code === 131016) return 503;
  if (code === 1 || code === 2 || code === 3 || code === 131000 || code === 131057) return 500;
  return 400;
}

function metaErrorBody(code: number, message: string, details: string): string {
  return JSON.stringify({
    error: {
      message: `(#${code}) ${message}`,
      type: 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details },
      fbtrace_id: randomBytes(12).toString('base64url'),
    },
  });
}

export async function startFakeCloudApi(opts: FakeCloudApiOptions = {}): Promise<FakeCloudApi> {
  const now = opts.now ?? Date.now;
  const sentCap = Math.max(1, opts.sentCap ?? 100_000);
  const wabaId = opts.wabaId ?? DEFAULT_WABA_ID;
  const accepted = opts.acceptedTokens ? new Set(opts.acceptedTokens) : undefined;
  const throughput =
    opts.throughputPerSecond !== undefined ? new SlidingWindow(opts.throughputPerSecond, 1000) : undefined;
  const pair = opts.pairLimit ? new SlidingWindow(opts.pairLimit.max, opts.pairLimit.windowMs) : undefined;
  const emitter = opts.webhook
    ? new WebhookEmitter(opts.webhook.url, opts.webhook.appSecret, { concurrency: opts.webhook.concurrency })
    : undefined;
  const statuses = opts.webhook?.statuses ?? ['sent', 'delivered'];

  const sent: FakeSentRecord[] = [];
  const counters = { accepted: 0, rejected: 0, byCode: {} as Record<string, number> };
  const nextFailures = new Map<string, Failure[]>();
  const alwaysFailures = new Map<string, Failure>();
  const latencyTimers = new Set<NodeJS.Timeout>();

  const countCode = (code: number): void => {
    counters.byCode[code] = (counters.byCode[code] ?? 0) + 1;
  };

  const write = (res: ServerResponse, status: number, body: string, then?: () => void): void => {
    const send = (): void => {
      if (res.destroyed || res.writableEnded) return; // the client gave up (e.g. its timeout)
      res.writeHead(status, {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      then?.();
    };
    const latency = opts.latencyMs ?? 0;
    if (latency <= 0) return send();
    const t = setTimeout(() => {
      latencyTimers.delete(t);
      send();
    }, latency);
    latencyTimers.add(t);
  };

  const reject = (
    res: ServerResponse,
    code: number,
    message: string,
    details: string,
    status = httpStatusFor(code),
  ): void => {
    counters.rejected++;
    countCode(code);
    write(res, status, metaErrorBody(code, message, details));
  };

  const takeFailure = (key: string): Failure | undefined => {
    const queue = nextFailures.get(key);
    if (queue && queue.length > 0) {
      const f = queue.shift();
      if (queue.length === 0) nextFailures.delete(key);
      return f;
    }
    return alwaysFailures.get(key);
  };

  const recordSent = (r: FakeSentRecord): void => {
    sent.push(r);
    // Trim in chunks: splicing one element off a 100k array on every send would cost a full copy each time.
    if (sent.length > sentCap) sent.splice(0, sent.length - sentCap + Math.floor(sentCap / 10));
  };

  const handleSend = (
    res: ServerResponse,
    phoneNumberId: string,
    authorization: string | undefined,
    raw: string,
  ): void => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (token === undefined || (accepted !== undefined && !accepted.has(token))) {
      return reject(
        res,
        190,
        'Invalid OAuth access token - Cannot parse access token',
        'The access token is missing, invalid or expired.',
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return reject(res, 100, 'Invalid parameter', 'Request body is not valid JSON.');
    }
    const v = validateSendBody(body);
    if (!v.ok) return reject(res, 100, v.message.replace(/^\(#100\) /, ''), v.details);

    const failure = takeFailure(v.recipientKey);
    if (failure && !failure.asStatus) {
      return reject(res, failure.code, TITLES[failure.code] ?? 'Error', classifyMetaError(failure.code).description);
    }
    const at = now();
    if (throughput && !throughput.tryHit(phoneNumberId, at)) {
      opts.onThroughputRejected?.(phoneNumberId, at);
      return reject(
        res,
        130429,
        TITLES[130429] as string,
        'Message failed to send because there were too many messages sent from this phone number in a short period of time.',
      );
    }
    if (pair && !pair.tryHit(`${phoneNumberId}\u0000${v.recipientKey}`, at)) {
      return reject(
        res,
        131056,
        TITLES[131056] as string,
        'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
      );
    }

    const messageId = randomWamid();
    counters.accepted++;
    recordSent({ phoneNumberId, body, messageId, at });
    // Meta returns what we sent as `input`; `to` wins over `recipient`, and a BSUID send answers with user_id.
    const contact =
      v.to !== undefined ? { input: v.to, wa_id: recipientKeyOf(v.to) } : { input: v.recipient, user_id: v.recipient };
    const message: Record<string, string> = { id: messageId };
    if (v.type === 'template') message.message_status = 'accepted';
    const reply = JSON.stringify({ messaging_product: 'whatsapp', contacts: [contact], messages: [message] });

    if (failure) countCode(failure.code); // asStatus: accepted now, failed by webhook below
    write(res, 200, reply, () => {
      if (!emitter) return;
      const common = {
        phoneNumberId,
        wabaId,
        messageId,
        recipientId: v.to !== undefined ? recipientKeyOf(v.to) : undefined,
        recipientUserId: v.to === undefined ? v.recipient : undefined,
        bizOpaque:
          typeof (body as Record<string, unknown>).biz_opaque_callback_data === 'string'
            ? ((body as Record<string, unknown>).biz_opaque_callback_data as string)
            : undefined,
      };
      const job: WebhookJob = failure
        ? [
            () =>
              statusUpdate({
                ...common,
                status: 'failed',
                timestampMs: now(),
                errors: [
                  {
                    code: failure.code,
                    title: TITLES[failure.code],
                    details: classifyMetaError(failure.code).description,
                  },
                ],
              }),
          ]
        : statuses.map((status) => () => statusUpdate({ ...common, status, timestampMs: now() }));
      emitter.enqueue(job, opts.webhook?.delayMs ?? 0);
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => {}); // a client that hangs up mid-body is not our problem
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = /^\/(v\d+(?:\.\d+)?)\/([^/]+)\/messages\/?$/.exec(path);
    if (req.method !== 'POST' || !match) {
      req.resume();
      return reject(res, 100, 'Unsupported request', `Unsupported ${req.method} request to ${path}.`, 400);
    }
    const phoneNumberId = decodeURIComponent(match[2] as string);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(res, 100, 'Invalid parameter', 'Request body too large.');
      handleSend(res, phoneNumberId, req.headers.authorization, Buffer.concat(chunks).toString('utf8'));
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const addFailure = (to: string, code: number, asStatus: boolean, always: boolean): void => {
    const key = recipientKeyOf(to);
    if (always) {
      if (!alwaysFailures.has(key) && alwaysFailures.size >= MAX_FAILURE_KEYS)
        throw new Error('fake Cloud API: too many failAlways recipients');
      alwaysFailures.set(key, { code, asStatus });
      return;
    }
    const queue = nextFailures.get(key) ?? [];
    if (queue.length >= MAX_QUEUED_FAILURES || (queue.length === 0 && nextFailures.size >= MAX_FAILURE_KEYS)) {
      throw new Error('fake Cloud API: too many queued failNext failures');
    }
    queue.push({ code, asStatus });
    nextFailures.set(key, queue);
  };

  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    failNext: (to, code, o) => addFailure(to, code, o?.asStatus ?? false, false),
    failAlways: (to, code, o) => addFailure(to, code, o?.asStatus ?? false, true),
    clearFailures: () => {
      nextFailures.clear();
      alwaysFailures.clear();
    },
    counts: () => ({
      accepted: counters.accepted,
      rejected: counters.rejected,
      byCode: { ...counters.byCode },
      webhooks: emitter ? { ...emitter.stats } : { delivered: 0, failed: 0, dropped: 0 },
    }),
    flushWebhooks: async () => {
      await emitter?.idle();
    },
    close: async () => {
      for (const t of latencyTimers) clearTimeout(t);
      latencyTimers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, emitter?.close()]);
    },
  };
}
