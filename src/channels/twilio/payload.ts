// Typed views of Twilio's form-encoded webhooks (inbound message, voice <Gather> action).
// Twilio adds parameters without notice, so unknown ones are ignored here (they still count for the
// signature, which is checked on the raw params before parsing).
import type { TwilioParams } from './signature.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

export type { Channel, OptOutType, InboundMessage, VoiceCallback } from '../../domain/inbound.js';
import type { Channel, OptOutType, InboundMessage, VoiceCallback } from '../../domain/inbound.js';

const E164 = /^\+[1-9]\d{6,14}$/;
const SHORT_CODE = /^\d{3,8}$/;
// Twilio SIDs are two letters and 32 hex digits; we only insist on a sane token so test fixtures and
// future SID formats are not rejected, since the signature already proves the sender.
const SID = /^[A-Za-z0-9]{2,64}$/;

/** First value of a possibly repeated param, trimmed; undefined when absent or empty. */
function first(params: TwilioParams, name: string): string | undefined {
  const raw = params[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function fail(field: string, message: string): { ok: false; field: string; message: string } {
  return { ok: false, field, message };
}

/** Splits "whatsapp:+1555…" into channel and address; null for channels we do not handle. */
function splitAddress(raw: string): { channel: Channel; address: string } | null {
  const colon = raw.indexOf(':');
  if (colon === -1) return { channel: 'sms', address: raw };
  if (raw.slice(0, colon).toLowerCase() === 'whatsapp') return { channel: 'whatsapp', address: raw.slice(colon + 1) };
  return null; // messenger:, rcs:, client:, sip: …
}

/** Optional fields copied only when present, so `exactOptionalPropertyTypes`-style consumers see no undefined keys. */
function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

export function parseInboundMessage(params: TwilioParams): ParseResult<InboundMessage> {
  const messageSid = first(params, 'MessageSid');
  if (!messageSid) return fail('MessageSid', 'MessageSid is required');
  if (!SID.test(messageSid)) return fail('MessageSid', 'MessageSid is not a valid SID');

  const fromRaw = first(params, 'From');
  if (!fromRaw) return fail('From', 'From is required');
  const from = splitAddress(fromRaw);
  if (!from) return fail('From', `unsupported channel in From: ${fromRaw.slice(0, fromRaw.indexOf(':'))}`);
  if (!E164.test(from.address)) return fail('From', 'From is not an E.164 phone number');

  const toRaw = first(params, 'To');
  if (!toRaw) return fail('To', 'To is required');
  const to = splitAddress(toRaw);
  if (!to || to.channel !== from.channel) return fail('To', 'To is not on the same channel as From');
  const shortCodeOk = to.channel === 'sms' && SHORT_CODE.test(to.address);
  if (!E164.test(to.address) && !shortCodeOk) return fail('To', 'To is not an E.164 phone number or short code');

  const numMediaRaw = first(params, 'NumMedia') ?? '0';
  if (!/^\d{1,3}$/.test(numMediaRaw)) return fail('NumMedia', 'NumMedia is not a non-negative integer');

  // Unknown OptOutType values are dropped, not rejected: rejecting would make Twilio retry a message we
  // can still store, and the body keyword logic runs regardless.
  const optOutRaw = first(params, 'OptOutType')?.toUpperCase();
  const optOutType = optOutRaw === 'STOP' || optOutRaw === 'START' || optOutRaw === 'HELP' ? optOutRaw : undefined;

  // Body is not trimmed: keyword matching decides what whitespace means.
  const rawBody = params['Body'];
  const body = (Array.isArray(rawBody) ? rawBody[0] : rawBody) ?? '';

  return {
    ok: true,
    value: {
      messageSid,
      ...optional('accountSid', first(params, 'AccountSid')),
      ...optional('messagingServiceSid', first(params, 'MessagingServiceSid')),
      from: from.address,
      to: to.address,
      channel: from.channel,
      body,
      ...(optOutType ? { optOutType } : {}),
      ...optional('buttonPayload', first(params, 'ButtonPayload')),
      ...optional('buttonText', first(params, 'ButtonText')),
      ...optional('profileName', first(params, 'ProfileName')),
      ...optional('waId', first(params, 'WaId')),
      numMedia: Number(numMediaRaw),
    },
  };
}

export function parseVoiceCallback(params: TwilioParams): ParseResult<VoiceCallback> {
  const callSid = first(params, 'CallSid');
  if (!callSid) return fail('CallSid', 'CallSid is required');
  if (!SID.test(callSid)) return fail('CallSid', 'CallSid is not a valid SID');

  // Withheld numbers arrive as "anonymous" or similar; consent cannot be tied to them.
  const from = first(params, 'From');
  if (!from) return fail('From', 'From is required');
  if (!E164.test(from)) return fail('From', 'From is not an E.164 phone number (withheld caller ID?)');

  const to = first(params, 'To');
  if (!to) return fail('To', 'To is required');

  const digits = first(params, 'Digits');
  if (digits !== undefined && !/^[0-9*#]{1,32}$/.test(digits))
    return fail('Digits', 'Digits holds non-DTMF characters');

  return {
    ok: true,
    value: {
      callSid,
      from,
      to,
      ...optional('digits', digits),
      ...optional('callStatus', first(params, 'CallStatus')),
      ...optional('accountSid', first(params, 'AccountSid')),
    },
  };
}
