// Request validation of the fake Cloud API: the checks Meta makes before accepting a send, answered with
// code 100 like Meta's "(#100) Invalid parameter". Not exhaustive: enough that a malformed body built by
// our own code fails in tests instead of in production.

export type SendValidation =
  | {
      ok: true;
      type: string;
      to?: string;
      recipient?: string;
      /** who the message is for: `to` digits (`to` wins) or the BSUID */ recipientKey: string;
    }
  | { ok: false; message: string; details: string };

const TYPES = [
  'audio',
  'contacts',
  'document',
  'image',
  'interactive',
  'location',
  'reaction',
  'sticker',
  'template',
  'text',
  'video',
];
const MEDIA = new Set(['audio', 'document', 'image', 'sticker', 'video']);

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined;
const filled = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

function bad(details: string, message = '(#100) Invalid parameter'): SendValidation {
  return { ok: false, message, details };
}

/** Strips the '+' so "+16505551234" and "16505551234" name the same recipient (Meta accepts both). */
export function recipientKeyOf(to: string): string {
  return to.startsWith('+') ? to.slice(1) : to;
}

export function validateSendBody(body: unknown): SendValidation {
  const b = rec(body);
  if (!b) return bad('Request body must be a JSON object');
  if (b.messaging_product !== 'whatsapp') {
    return bad(
      'The parameter messaging_product is required and must be "whatsapp".',
      '(#100) The parameter messaging_product is required.',
    );
  }
  const to = b.to;
  const recipient = b.recipient;
  if (to !== undefined && !(typeof to === 'string' && /^\+?\d{6,15}$/.test(to)))
    return bad('Param to must be a phone number.');
  if (recipient !== undefined && !filled(recipient)) return bad('Param recipient must be a non-empty string.');
  if (to === undefined && recipient === undefined) {
    return bad('The parameter to (or recipient) is required.', '(#100) The parameter to is required.');
  }
  // Meta defaults a missing type to text.
  const type = b.type === undefined ? 'text' : b.type;
  if (typeof type !== 'string' || !TYPES.includes(type)) {
    return bad(
      `Param type must be one of {${TYPES.map((t) => t.toUpperCase()).join(', ')}} - got ${JSON.stringify(type)}.`,
    );
  }
  const problem = typeProblem(type, b);
  if (problem) return bad(problem);
  return {
    ok: true,
    type,
    ...(typeof to === 'string' ? { to } : {}),
    ...(typeof recipient === 'string' ? { recipient } : {}),
    recipientKey: typeof to === 'string' ? recipientKeyOf(to) : (recipient as string),
  };
}

function typeProblem(type: string, b: Rec): string | undefined {
  const obj = rec(b[type]);
  if (type === 'contacts')
    return Array.isArray(b.contacts) && b.contacts.length > 0 ? undefined : 'Param contacts is required.';
  if (!obj) return `Param ${type} is required for type ${type}.`;
  switch (type) {
    case 'text':
      return filled(obj.body) ? undefined : "Param text['body'] is required.";
    case 'template':
      if (!filled(obj.name)) return "Param template['name'] is required.";
      return filled(rec(obj.language)?.code) ? undefined : "Param template['language']['code'] is required.";
    case 'interactive': {
      if (!filled(obj.type)) return "Param interactive['type'] is required.";
      if (!rec(obj.action)) return "Param interactive['action'] is required.";
      const buttons = rec(obj.action)?.buttons;
      if (obj.type === 'button' && !(Array.isArray(buttons) && buttons.length >= 1 && buttons.length <= 3)) {
        return "Param interactive['action']['buttons'] must have 1 to 3 buttons.";
      }
      return undefined;
    }
    case 'reaction':
      return filled(obj.message_id) ? undefined : "Param reaction['message_id'] is required.";
    case 'location':
      return typeof obj.latitude === 'number' && typeof obj.longitude === 'number'
        ? undefined
        : 'Params latitude and longitude are required.';
    default:
      if (MEDIA.has(type) && !filled(obj.id) && !filled(obj.link))
        return `Param ${type}['id'] or ${type}['link'] is required.`;
      return undefined;
  }
}
