import { fail, type FieldProblem } from '../errors.js';

/**
 * What consent evidence may be: the proof kept with an event, so it must mean what its name says and stay small.
 * Known fields are typed (an ip is an IP address, a url a web address, ids and user agents bounded); any other
 * key is kept as given, within the bounds of the whole object. The one home of the rule: the API, the hosted
 * pages and the import check evidence here.
 */
export const EVIDENCE_LIMITS = {
  /** The whole evidence object, as JSON (UTF-8 bytes). */
  maxBytes: 8 * 1024,
  /** Nesting: the evidence object is level 1. */
  maxDepth: 5,
  /** Any free-text string (a user agent, a note, a column of an import file). */
  maxText: 1000,
  /** A provider's or our own id. */
  maxId: 256,
  maxUrl: 2048,
} as const;

const URL_FIELDS = new Set(['url', 'pageUrl', 'referrer']);
const ID_FIELDS = new Set([
  'messageId',
  'callId',
  'tokenId',
  'formId',
  'appUserId',
  'deviceId',
  'invitationId',
  'digits',
  'fileHash',
]);

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const all = halves.flatMap(groups);
  // An embedded IPv4 address (::ffff:192.0.2.1) may end the address and counts as two groups.
  const last = all[all.length - 1];
  const v4 = last !== undefined && last.includes('.');
  if (v4 && !isIPv4(last)) return false;
  const hex = v4 ? all.slice(0, -1) : all;
  if (!hex.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = hex.length + (v4 ? 2 : 0);
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** An IPv4 or IPv6 address, as a client or proxy reports it (no port, no zone). */
export function isIpAddress(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

function isWebUrl(s: string): boolean {
  if (s.length > EVIDENCE_LIMITS.maxUrl) return false;
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function knownField(key: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (key === 'ip') return typeof v === 'string' && isIpAddress(v) ? null : 'must be an IPv4 or IPv6 address';
  if (URL_FIELDS.has(key))
    return typeof v === 'string' && isWebUrl(v)
      ? null
      : `must be an http(s) URL of at most ${EVIDENCE_LIMITS.maxUrl} characters`;
  if (key === 'userAgent')
    return typeof v === 'string' && v.length <= EVIDENCE_LIMITS.maxText
      ? null
      : `must be a string of at most ${EVIDENCE_LIMITS.maxText} characters`;
  if (ID_FIELDS.has(key)) {
    const ok =
      (typeof v === 'string' && v.length >= 1 && v.length <= EVIDENCE_LIMITS.maxId) ||
      (typeof v === 'number' && Number.isSafeInteger(v));
    return ok ? null : `must be an id (a string of 1 to ${EVIDENCE_LIMITS.maxId} characters)`;
  }
  return null;
}

/**
 * The first problem of an evidence object (field named from `root`, e.g. "evidence.ip"), or null when it may be kept.
 */
export function evidenceProblem(evidence: Record<string, unknown>, root = 'evidence'): FieldProblem | null {
  for (const [k, v] of Object.entries(evidence)) {
    const p = knownField(k, v);
    if (p) return { field: `${root}.${k}`, message: p };
  }
  // Unknown keys: any JSON, each string capped, the whole bounded in depth and size. Iterative (no recursion).
  const stack: [unknown, string, number][] = [[evidence, root, 1]];
  while (stack.length > 0) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.length > EVIDENCE_LIMITS.maxText)
        return { field: path, message: `is longer than ${EVIDENCE_LIMITS.maxText} characters` };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { field: path, message: 'must be a finite number' };
    } else if (v !== null && typeof v === 'object') {
      if (depth > EVIDENCE_LIMITS.maxDepth)
        return { field: path, message: `nests more than ${EVIDENCE_LIMITS.maxDepth} levels deep` };
      if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, `${path}[${i}]`, depth + 1]));
      else for (const [k, x] of Object.entries(v)) stack.push([x, `${path}.${k}`, depth + 1]);
    } else if (v !== null && typeof v !== 'boolean') {
      return { field: path, message: 'must be a JSON value' };
    }
  }
  const bytes = new TextEncoder().encode(JSON.stringify(evidence)).length;
  if (bytes > EVIDENCE_LIMITS.maxBytes)
    return { field: root, message: `is ${bytes} bytes as JSON; at most ${EVIDENCE_LIMITS.maxBytes} are kept` };
  return null;
}

/** Refuses (400 VALIDATION_FAILED, naming the field) evidence that evidenceProblem finds fault with. */
export function checkEvidence(evidence: Record<string, unknown>, root = 'evidence'): void {
  const p = evidenceProblem(evidence, root);
  if (p) fail('VALIDATION_FAILED', `${p.field} ${p.message}.`, p.field);
}
