// Meta retries a webhook it did not get a 2xx for, for up to 7 days, so a body Meta signed is never refused for
// what its strings contain: text a database cannot store (NUL, lone surrogates) is cleaned, an overlong string is
// cut, and the items of that POST carry a note of what was changed. Only nesting no real webhook has (and that
// would overflow the stack when the items are serialised) is refused, before the signature is even checked.
import { cleanText, MAX_INPUT_DEPTH, textProblem } from '../../domain/text-input.js';

/** Longer than any string Meta sends (a text body is at most 4,096 characters). */
export const MAX_WEBHOOK_STRING = 8192;
/** Notes kept per POST: enough to see what happened, bounded whatever the body. */
const MAX_NOTES = 20;

export type CleanedWebhook = { ok: true; value: unknown; notes: string[] } | { ok: false; path: string };

/** One string as the cleaner leaves it (routing keys are read with the same rule before the body is cleaned). */
export function cleanWebhookString(s: string): string {
  const out = textProblem(s) !== null ? cleanText(s) : s;
  return out.length > MAX_WEBHOOK_STRING ? out.slice(0, MAX_WEBHOOK_STRING) : out;
}

/** Cleans every string (and key) of a parsed webhook body in place; iterative, so no input can exhaust the stack. */
export function cleanWebhookBody(body: unknown): CleanedWebhook {
  const notes: string[] = [];
  const note = (path: string, what: string) => {
    if (notes.length < MAX_NOTES) notes.push(`${path}: ${what}`);
  };
  const fix = (s: string, path: string): string => {
    if (textProblem(s) !== null) note(path, 'NUL or lone surrogate removed');
    if (s.length > MAX_WEBHOOK_STRING) note(path, `cut to ${MAX_WEBHOOK_STRING} characters`);
    return cleanWebhookString(s);
  };
  if (typeof body === 'string') return { ok: true, value: fix(body, 'body'), notes };
  const stack: { v: object; path: string; depth: number }[] = [];
  if (typeof body === 'object' && body !== null) stack.push({ v: body, path: 'body', depth: 1 });
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (depth > MAX_INPUT_DEPTH) return { ok: false, path };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const el: unknown = v[i];
        if (typeof el === 'string') v[i] = fix(el, `${path}[${i}]`);
        else if (typeof el === 'object' && el !== null) stack.push({ v: el, path: `${path}[${i}]`, depth: depth + 1 });
      }
      continue;
    }
    const o = v as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      let k = key;
      if (textProblem(key) !== null || key.length > 256) {
        k = cleanText(key).slice(0, 256);
        o[k] = o[key];
        delete o[key];
        note(path, 'a key was cleaned');
      }
      const el = o[k];
      if (typeof el === 'string') o[k] = fix(el, `${path}.${k}`);
      else if (typeof el === 'object' && el !== null) stack.push({ v: el, path: `${path}.${k}`, depth: depth + 1 });
    }
  }
  return { ok: true, value: body, notes };
}
