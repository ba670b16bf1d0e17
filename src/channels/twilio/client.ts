// Minimal Twilio Messages client over fetch. Production code does not use the twilio SDK: one endpoint
// is all we need, and every failure must come back as a value classified for the send worker.

export interface TwilioClientOptions {
  baseUrl?: string;
  accountSid: string;
  authToken: string;
  timeoutMs?: number;
}

export interface SendMessageInput {
  /** "+1555…" or "whatsapp:+1555…". */
  to: string;
  body: string;
  from?: string;
  messagingServiceSid?: string;
}

export type SendErrorKind = 'opted_out' | 'invalid_number' | 'auth' | 'rate_limited' | 'transient' | 'permanent';

export type SendMessageResult =
  | { ok: true; sid: string; status: string }
  | {
      ok: false;
      /** 0 when no HTTP response was received (network error, timeout, or refused locally). */
      httpStatus: number;
      /** Twilio error code, 0 when none was given. */
      code: number;
      message: string;
      retryable: boolean;
      kind: SendErrorKind;
    };

export interface TwilioClient {
  sendMessage(input: SendMessageInput): Promise<SendMessageResult>;
}

/** Maps Twilio's error code and HTTP status to what the worker should do. Code wins over status. */
export function classifyTwilioError(httpStatus: number, code: number): { kind: SendErrorKind; retryable: boolean } {
  if (code === 21610) return { kind: 'opted_out', retryable: false }; // until the user sends START
  if (code === 21211 || code === 21614) return { kind: 'invalid_number', retryable: false };
  if (code === 20003 || httpStatus === 401) return { kind: 'auth', retryable: false };
  if (code === 20429 || httpStatus === 429) return { kind: 'rate_limited', retryable: true };
  if (httpStatus >= 500 || httpStatus === 0) return { kind: 'transient', retryable: true };
  return { kind: 'permanent', retryable: false };
}

function failure(httpStatus: number, code: number, message: string): SendMessageResult {
  return { ok: false, httpStatus, code, message, ...classifyTwilioError(httpStatus, code) };
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function createTwilioClient(opts: TwilioClientOptions): TwilioClient {
  const baseUrl = (opts.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const endpoint = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(opts.accountSid)}/Messages.json`;
  const authorization = 'Basic ' + Buffer.from(`${opts.accountSid}:${opts.authToken}`, 'utf8').toString('base64');

  return {
    async sendMessage(input) {
      if (!input.from && !input.messagingServiceSid) {
        // Twilio would answer 400/21603; answer it here without a round trip. A caller bug: never retry.
        return {
          ok: false,
          httpStatus: 0,
          code: 21603,
          message: "A 'From' phone number or MessagingServiceSid is required",
          retryable: false,
          kind: 'permanent',
        };
      }
      const form = new URLSearchParams({ To: input.to, Body: input.body });
      if (input.messagingServiceSid) form.set('MessagingServiceSid', input.messagingServiceSid);
      if (input.from) form.set('From', input.from);

      let status: number;
      let text: string;
      try {
        // One signal covers connect, headers and body, so a stalled body cannot hang the worker.
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: form.toString(),
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
        const why =
          e.name === 'TimeoutError'
            ? `timed out after ${timeoutMs} ms`
            : (e.cause?.code ?? e.cause?.message ?? e.message ?? 'network error');
        return failure(0, 0, `Twilio request failed: ${why}`);
      }

      const json = parseJson(text);
      if (status >= 200 && status < 300) {
        const sid = json?.['sid'];
        const msgStatus = json?.['status'];
        if (typeof sid === 'string' && sid !== '') {
          return { ok: true, sid, status: typeof msgStatus === 'string' ? msgStatus : 'queued' };
        }
        // Twilio may have accepted the message; retrying could send it twice, so do not retry.
        return {
          ok: false,
          httpStatus: status,
          code: 0,
          message: 'Twilio accepted the request but returned no message sid',
          retryable: false,
          kind: 'permanent',
        };
      }
      const rawCode = json?.['code'];
      const rawMessage = json?.['message'];
      const code = typeof rawCode === 'number' && Number.isInteger(rawCode) ? rawCode : Number(rawCode) || 0;
      const message = typeof rawMessage === 'string' && rawMessage !== '' ? rawMessage : `HTTP ${status}`;
      return failure(status, code, message);
    },
  };
}
