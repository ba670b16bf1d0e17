// TwiML replies, built as strings so production code needs no XML library (and not the twilio SDK).
// Output is byte-for-byte what twilio-node's builders produce for the same input, except that we also
// escape quotes and ">" in attributes and drop characters XML 1.0 cannot carry (twilio-node throws on them;
// a webhook reply should not fail because a configured text holds a stray control character).

export const TWIML_CONTENT_TYPE = 'text/xml; charset=utf-8';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

// Characters not allowed anywhere in an XML 1.0 document: C0 controls except tab/LF/CR, lone surrogates,
// U+FFFE and U+FFFF.
const INVALID_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeText(s: string): string {
  return s
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#xD;'); // a literal CR would be normalised away by any XML parser
}

function escapeAttr(s: string): string {
  return s
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#x9;') // whitespace in attributes is normalised to spaces unless escaped
    .replace(/\n/g, '&#xA;')
    .replace(/\r/g, '&#xD;');
}

function element(name: string, attrs: Record<string, string | number | undefined>, inner: string): string {
  let open = '<' + name;
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined) open += ` ${k}="${escapeAttr(String(v))}"`;
  }
  return inner === '' ? open + '/>' : `${open}>${inner}</${name}>`;
}

function response(inner: string): string {
  return DECLARATION + element('Response', {}, inner);
}

/** Messaging reply. No message (or an empty one) means "no reply": `<Response/>`. */
export function messagingResponse(message?: string): string {
  if (message === undefined || message.trim() === '') return response('');
  return response(element('Message', {}, escapeText(message)));
}

export interface VoiceGatherOptions {
  /** Absolute URL Twilio POSTs the pressed digits to. */
  action: string;
  prompt: string;
  numDigits?: number;
  timeoutSec?: number;
  language?: string;
  voice?: string;
  /** Said when the caller presses nothing (Twilio then falls through to the next verb). */
  noInputSay?: string;
}

function positiveInt(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}

/** DTMF menu: `<Gather>` with a spoken prompt, then an optional fallback `<Say>`. */
export function voiceGather(opts: VoiceGatherOptions): string {
  if (opts.action.trim() === '') throw new RangeError('voiceGather: action URL is required');
  const sayAttrs = { voice: opts.voice, language: opts.language };
  const gather = element(
    'Gather',
    {
      input: 'dtmf',
      numDigits: positiveInt('numDigits', opts.numDigits ?? 1),
      timeout: positiveInt('timeoutSec', opts.timeoutSec ?? 5),
      action: opts.action,
      method: 'POST',
    },
    element('Say', sayAttrs, escapeText(opts.prompt)),
  );
  const fallback = opts.noInputSay === undefined ? '' : element('Say', sayAttrs, escapeText(opts.noInputSay));
  return response(gather + fallback);
}

export interface VoiceSayOptions {
  language?: string;
  voice?: string;
  /** End the call after speaking (default true). */
  hangup?: boolean;
}

/** Speak one text, then (by default) hang up. */
export function voiceSay(text: string, opts: VoiceSayOptions = {}): string {
  const say = element('Say', { voice: opts.voice, language: opts.language }, escapeText(text));
  return response(say + (opts.hangup === false ? '' : '<Hangup/>'));
}
