import { parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max';

export type PhoneResult = { ok: true; e164: string; country?: string } | { ok: false; reason: string };

const REASONS: Record<string, string> = {
  INVALID_COUNTRY: 'the number has no country code (start it with + and the country code, or give a default country)',
  NOT_A_NUMBER: 'it is not a phone number',
  TOO_SHORT: 'the number is too short',
  TOO_LONG: 'the number is too long',
  INVALID_LENGTH: 'the number has the wrong length for its country',
};

/**
 * Normalises a phone number to E.164. Accepts "+44 7700 900123", "447700900123" (digits as WhatsApp sends
 * them: treated as international), a `whatsapp:` prefix (Twilio), or a national number with a default country.
 */
export function normalisePhone(input: string, defaultCountry?: string): PhoneResult {
  // Parsing with full metadata costs tens of microseconds and sits on the send gate's hot path; the same
  // numbers come back again and again, so results are kept in a bounded cache.
  const key = defaultCountry ? `${defaultCountry}|${input}` : input;
  const hit = cache.get(key);
  if (hit) return hit;
  const r = parse(input, defaultCountry);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(key, r);
  return r;
}

const CACHE_MAX = 50_000;
const cache = new Map<string, PhoneResult>();

function parse(input: string, defaultCountry?: string): PhoneResult {
  let s = input.trim();
  if (s.toLowerCase().startsWith('whatsapp:')) s = s.slice(9).trim();
  if (s.length === 0) return { ok: false, reason: 'the number is empty' };
  if (s.length > 40) return { ok: false, reason: 'the number is too long' };
  // WhatsApp ids and webhook `from` values are bare international digits.
  if (/^\d{8,15}$/.test(s) && !defaultCountry) s = `+${s}`;
  try {
    const p = parsePhoneNumberWithError(s, defaultCountry as CountryCode | undefined);
    if (!p.isValid()) return { ok: false, reason: 'the number is not valid for its country' };
    return { ok: true, e164: p.number, ...(p.country ? { country: p.country } : {}) };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, reason: REASONS[e.message] ?? 'it is not a phone number' };
    return { ok: false, reason: 'it is not a phone number' };
  }
}

/** Masks a number for logs and UI lists: +4477****0123. */
export function maskPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  if (e164.length <= 8) return '****';
  return `${e164.slice(0, 5)}${'*'.repeat(e164.length - 9)}${e164.slice(-4)}`;
}
