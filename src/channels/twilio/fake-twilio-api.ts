// A local stand-in for Twilio, for tests and `optline simulate`: a real HTTP server that answers
// POST /2010-04-01/Accounts/{sid}/Messages.json the way Twilio does (status codes, error codes, JSON shape),
// plus a helper that plays Twilio's side of an inbound webhook, signature included.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { computeTwilioSignature, type SignatureAlgorithm, type TwilioParams } from './signature.js';

export interface FakeTwilioMessage {
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body: string;
  sid: string;
  at: Date;
}

export interface FakeTwilioApi {
  /** Base URL to give createTwilioClient as `baseUrl`. */
  url: string;
  /** Messages accepted (201), in order. */
  messages: FakeTwilioMessage[];
  /** Later sends to this address get 400 / 21610, as after the user replied STOP. */
  block(to: string): void;
  /** The next send to this address gets this HTTP status and Twilio error code (one-shot, queued). */
  failNext(to: string, httpStatus: number, code: number): void;
  close(): Promise<void>;
}

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  port?: number;
  /** Delay before each answer, to exercise client timeouts. */
  latencyMs?: number;
}

const MAX_BODY = 1_000_000;

const MESSAGES: Record<number, string> = {
  20003: 'Authenticate',
  20404: 'The requested resource was not found',
  20429: 'Too Many Requests',
  21211: "The 'To' number is not a valid phone number.",
  21602: 'Message body is required.',
  21603: "A 'From' phone number is required.",
  21604: "A 'To' phone number is required.",
  21610: 'Attempt to send to unsubscribed recipient',
  21614: "'To' number is not a valid mobile number",
};

// Opt-outs are per person, whatever the channel prefix the sender used (Advanced Opt-Out is service-wide).
function addressKey(to: string): string {
  return to.trim().replace(/^whatsapp:/i, '');
}

function newSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

function errorBody(status: number, code: number): string {
  return JSON.stringify({
    code,
    message: MESSAGES[code] ?? (status >= 500 ? 'Internal Server Error' : 'Error'),
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function checkBasicAuth(header: string | undefined, sid: string, token: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  return decoded === `${sid}:${token}`;
}

export async function startFakeTwilioApi(opts: FakeTwilioOptions): Promise<FakeTwilioApi> {
  const messages: FakeTwilioMessage[] = [];
  const blocked = new Set<string>();
  const failures = new Map<string, { status: number; code: number }[]>();
  const timers = new Set<NodeJS.Timeout>();
  const path = `/2010-04-01/Accounts/${opts.accountSid}/Messages.json`;

  function reply(res: ServerResponse, status: number, body: string): void {
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    };
    if (!opts.latencyMs) return send();
    const t = setTimeout(() => {
      timers.delete(t);
      send();
    }, opts.latencyMs);
    timers.add(t);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === null) return reply(res, 413, errorBody(413, 0));
    const pathname = (req.url ?? '/').split('?')[0];
    // Twilio checks credentials before it looks at the resource.
    if (!checkBasicAuth(req.headers.authorization, opts.accountSid, opts.authToken)) {
      return reply(res, 401, errorBody(401, 20003));
    }
    if (req.method !== 'POST' || pathname !== path) return reply(res, 404, errorBody(404, 20404));

    const form = new URLSearchParams(body);
    const to = form.get('To') ?? '';
    const text = form.get('Body') ?? '';
    const from = form.get('From') ?? undefined;
    const messagingServiceSid = form.get('MessagingServiceSid') ?? undefined;
    if (to === '') return reply(res, 400, errorBody(400, 21604));
    if (text === '') return reply(res, 400, errorBody(400, 21602));
    if (!from && !messagingServiceSid) return reply(res, 400, errorBody(400, 21603));

    const key = addressKey(to);
    const queued = failures.get(key);
    const injected = queued?.shift();
    if (queued && queued.length === 0) failures.delete(key);
    if (injected) return reply(res, injected.status, errorBody(injected.status, injected.code));
    if (blocked.has(key)) return reply(res, 400, errorBody(400, 21610));

    const sid = newSid('SM');
    const at = new Date();
    messages.push({
      to,
      ...(from ? { from } : {}),
      ...(messagingServiceSid ? { messagingServiceSid } : {}),
      body: text,
      sid,
      at,
    });
    const date = at.toUTCString().replace('GMT', '+0000'); // Twilio uses RFC 2822 dates
    reply(
      res,
      201,
      JSON.stringify({
        account_sid: opts.accountSid,
        api_version: '2010-04-01',
        body: text,
        date_created: date,
        date_sent: null,
        date_updated: date,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: messagingServiceSid ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: 'USD',
        sid,
        // With only a Messaging Service, Twilio first answers "accepted" and picks the sender later.
        status: from ? 'queued' : 'accepted',
        subresource_uris: { media: `${path.replace('.json', '')}/${sid}/Media.json` },
        to,
        uri: `${path.replace('.json', '')}/${sid}.json`,
      }),
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, errorBody(500, 0));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    block(to) {
      blocked.add(addressKey(to));
    },
    failNext(to, httpStatus, code) {
      const key = addressKey(to);
      failures.set(key, [...(failures.get(key) ?? []), { status: httpStatus, code }]);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export interface SignedWebhookOptions {
  /** Send this header instead of the correct signature (to test rejection). */
  signatureOverride?: string;
  /** 'sha256' with a SharedKey as `authToken`, for the Webhook Rules variant. */
  algorithm?: SignatureAlgorithm;
  /** X-Twilio-Webhooks-Signature-Settings value, e.g. "key=KS1,algorithm=HMAC_SHA256". */
  settingsHeader?: string;
}

export interface SignedWebhookResponse {
  status: number;
  contentType: string | null;
  body: string;
}

/**
 * POSTs `params` form-encoded to `url` as Twilio would, with X-Twilio-Signature computed for that exact
 * URL. `authToken` is the signing secret (the SharedKey when `algorithm` is 'sha256').
 */
export async function sendSignedTwilioWebhook(
  url: string,
  params: TwilioParams,
  authToken: string,
  opts: SignedWebhookOptions = {},
): Promise<SignedWebhookResponse> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const value of Array.isArray(v) ? v : [v]) form.append(k, value);
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature':
      opts.signatureOverride ?? computeTwilioSignature(authToken, url, params, opts.algorithm ?? 'sha1'),
    'user-agent': 'TwilioProxy/1.1',
  };
  if (opts.settingsHeader !== undefined) headers['x-twilio-webhooks-signature-settings'] = opts.settingsHeader;
  // Twilio does not follow redirects for webhooks; neither do we, so a redirect shows up as its status.
  const res = await fetch(url, { method: 'POST', headers, body: form.toString(), redirect: 'manual' });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}
