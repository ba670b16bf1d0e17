// TwiML replies, built as strings so production code needs no XML library (and not the twilio SDK).
// Output is byte-for-byte what twilio-node's builders produce for the same input, except that we also
// escape quotes and ">" in attributes and drop characters XML 1.0 cannot carry (twilio-node throws on them;
// a webhook reply should not fail because a configured text holds a stray control character).

import type { VoiceScript } from '../../domain/capture/voice.js';

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

const nonBlank = (name: string, v: string) => {
  if (v.trim() === '') throw new RangeError(`${name} URL is required`);
  return v;
};

function positiveInt(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}

/**
 * A call's script (domain/capture/voice.ts) as one TwiML document, its steps played in order: a gather is a DTMF
 * `<Gather>` of one digit around its spoken prompt, a say is a `<Say>` then `<Hangup/>` unless told otherwise.
 */
export function voiceScript(steps: VoiceScript): string {
  return response(
    steps
      .map((s) =>
        s.kind === 'gather'
          ? element(
              'Gather',
              {
                input: 'dtmf',
                numDigits: 1,
                timeout: positiveInt('timeoutSec', s.timeoutSec),
                action: nonBlank('action', s.action),
                method: 'POST',
              },
              element('Say', { language: s.language }, escapeText(s.prompt)),
            )
          : element('Say', { language: s.language }, escapeText(s.text)) + (s.hangup ? '<Hangup/>' : ''),
      )
      .join(''),
  );
}
