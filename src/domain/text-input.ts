/**
 * What every string that enters Optline must be: text a database can store. PostgreSQL refuses a NUL
 * character in text and JSON (22021), and a lone UTF-16 surrogate has no UTF-8 form, so either would fail a
 * write half-way or be stored mangled. The HTTP edge refuses them (http/input-guard.ts); channels whose
 * sender retries a refusal clean them instead (cleanText).
 */

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why the string cannot be stored, or null when it can. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(s)) return 'contains a lone surrogate (not valid Unicode)';
  return null;
}

/** The string with NULs removed and lone surrogates replaced by U+FFFD, for input that must not be refused. */
export function cleanText(s: string): string {
  return s.replace(/\u0000/g, '').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
}

/** How deep a JSON value may nest before it is refused: far beyond any real request, far below a stack limit. */
export const MAX_INPUT_DEPTH = 32;
/** The longest single string any request may carry (each schema sets its own, smaller bound). */
export const MAX_INPUT_STRING = 64 * 1024;
