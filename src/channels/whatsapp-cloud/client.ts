// Minimal Cloud API send client. It never throws for anything the network or Meta does: every outcome is a
// SendResult the caller can branch on (classification says whether and at what scope to retry).
// Uses node:http(s) with a keep-alive Agent rather than the global fetch: on a small machine fetch's
// per-request overhead capped a dispatch worker near 2,500 sends/s, the plain client goes several times
// faster, and sockets to Meta's one origin are reused either way.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { classifyMetaError } from './errors.js';
import type { MetaErrorClassification } from './errors.js';

export interface CloudClientOptions {
  /** Default https://graph.facebook.com; point at the fake Cloud API in tests and the sandbox. */
  baseUrl?: string;
  /** Graph API version; pinned and configurable because versions expire after about two years. */
  version?: string;
  timeoutMs?: number;
  /** Sockets kept open to the API (default 128): at least the sends a worker keeps in flight. */
  maxSockets?: number;
}

export type SendResult =
  | { ok: true; messageId: string; waId?: string; userId?: string; messageStatus?: string }
  | {
      ok: false;
      /** 0 when no HTTP response arrived (network error, timeout). */
      httpStatus: number;
      /** Meta's error code; -1 when there is none (network error, timeout, non-JSON body). */
      code: number;
      title: string;
      details?: string;
      fbtraceId?: string;
      classification: MetaErrorClassification;
    };

export interface CloudClient {
  send(phoneNumberId: string, accessToken: string, body: object): Promise<SendResult>;
}

type Json = Record<string, unknown>;
const rec = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function failure(
  httpStatus: number,
  code: number,
  title: string,
  extra: { details?: string; fbtraceId?: string } = {},
): SendResult {
  const r: SendResult = { ok: false, httpStatus, code, title, classification: classifyMetaError(code, httpStatus) };
  if (extra.details !== undefined) r.details = extra.details;
  if (extra.fbtraceId !== undefined) r.fbtraceId = extra.fbtraceId;
  return r;
}

function fromErrorBody(httpStatus: number, text: string): SendResult {
  const err = rec(rec(parseJson(text))?.error);
  if (!err) {
    // A proxy or load balancer answered (HTML, empty body…): no Meta code, classify on HTTP status.
    return failure(httpStatus, -1, `HTTP ${httpStatus}`, { details: text.slice(0, 500) || undefined });
  }
  const rawCode = typeof err.code === 'string' ? Number(err.code) : err.code;
  const code = typeof rawCode === 'number' && Number.isFinite(rawCode) ? rawCode : -1;
  return failure(
    httpStatus,
    code,
    str(err.error_user_title) ?? str(err.title) ?? str(err.message) ?? `HTTP ${httpStatus}`,
    {
      details: str(rec(err.error_data)?.details) ?? str(err.error_user_msg),
      fbtraceId: str(err.fbtrace_id),
    },
  );
}

function fromSuccessBody(httpStatus: number, text: string): SendResult {
  const json = rec(parseJson(text));
  const message = rec(Array.isArray(json?.messages) ? json.messages[0] : undefined);
  const messageId = str(message?.id);
  if (messageId === undefined) {
    // Meta may have accepted the message; retrying could send it twice, so this is not retryable.
    return {
      ok: false,
      httpStatus,
      code: -1,
      title: 'Unrecognised success response (no message id)',
      details: text.slice(0, 500),
      classification: { ...classifyMetaError(-1, httpStatus), kind: 'permanent', retryable: false, scope: 'message' },
    };
  }
  const contact = rec(Array.isArray(json?.contacts) ? json.contacts[0] : undefined);
  const r: SendResult = { ok: true, messageId };
  const waId = str(contact?.wa_id);
  const userId = str(contact?.user_id);
  const messageStatus = str(message?.message_status);
  if (waId !== undefined) r.waId = waId;
  if (userId !== undefined) r.userId = userId;
  if (messageStatus !== undefined) r.messageStatus = messageStatus;
  return r;
}

export function createCloudClient(opts: CloudClientOptions = {}): CloudClient {
  const base = new URL((opts.baseUrl ?? 'https://graph.facebook.com').replace(/\/+$/, ''));
  const version = opts.version ?? 'v23.0';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const secure = base.protocol === 'https:';
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 128, maxFreeSockets: opts.maxSockets ?? 128 };
  const agent = secure ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
  const request = secure ? httpsRequest : httpRequest;
  const prefix = base.pathname.replace(/\/+$/, '');

  return {
    send(phoneNumberId, accessToken, body) {
      const payload = Buffer.from(JSON.stringify(body));
      return new Promise<SendResult>((resolve) => {
        let settled = false;
        const done = (r: SendResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(r);
        };
        const req = request(
          {
            agent,
            protocol: base.protocol,
            hostname: base.hostname,
            port: base.port || undefined,
            method: 'POST',
            path: `${prefix}/${version}/${encodeURIComponent(phoneNumberId)}/messages`,
            headers: {
              authorization: `Bearer ${accessToken}`,
              'content-type': 'application/json',
              'content-length': payload.length,
            },
          },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', (e: Error & { code?: string }) =>
              done(failure(0, -1, 'Network error', { details: e.code ?? e.message })),
            );
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const text = Buffer.concat(chunks).toString('utf8');
              done(status >= 200 && status < 300 ? fromSuccessBody(status, text) : fromErrorBody(status, text));
            });
          },
        );
        // The timeout covers the whole exchange, reading the body included.
        const timer = setTimeout(() => {
          done(failure(0, -1, `Timeout after ${timeoutMs} ms`, { details: 'timeout' }));
          req.destroy();
        }, timeoutMs);
        req.on('error', (e: Error & { code?: string }) =>
          done(failure(0, -1, 'Network error', { details: e.code ?? e.message })),
        );
        req.end(payload);
      });
    },
  };
}
