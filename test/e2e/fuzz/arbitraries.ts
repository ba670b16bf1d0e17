import fc from 'fast-check';

/** A JSON schema as it appears in the served OpenAPI document (the parts the generators read). */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
}

/** Values known to the seeded business, used now and then so requests get past the first checks. */
export interface Hints {
  phones: string[];
  textHashes: string[];
  topicKeys: string[];
  ids: string[];
}

export const NUL = '\u0000';

/** Strings no endpoint should answer with a 5xx. */
export const hostileString = fc.constantFrom(
  NUL,
  `a${NUL}b`,
  `+44${NUL}7911123456`,
  '\uD800',
  'x\uDFFF',
  '\uDBFF\uDBFF',
  'x'.repeat(70_000),
  'y'.repeat(1_000),
  'z'.repeat(300),
  '',
  ' ',
  '../../etc/passwd',
  "' OR 1=1 --",
  '%00',
  '\u202Eevil',
  '𝒳𝒴',
  '+447911123456',
  '-1',
  '1e309',
  'null',
  'undefined',
  '__proto__',
  '<script>alert(1)</script>',
  '\r\nX-Injected: 1',
  '0'.repeat(64),
  'per_00000000000000000000000000',
  '😀'.repeat(5000),
);

/** Any value of the wrong kind. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.constant([]),
  fc.constant({}),
  hostileString,
  fc.constant({ __proto__: { admin: true } }),
  fc.constant([[[[[[]]]]]]),
  fc.constant(Number.MAX_SAFE_INTEGER * 4),
);

function resolve(s: Schema, components: Record<string, Schema>): Schema {
  let cur = s;
  for (let i = 0; cur.$ref && i < 10; i++) cur = components[cur.$ref.replace('#/components/schemas/', '')] ?? {};
  return cur;
}

const hinted = (name: string, hints: Hints): fc.Arbitrary<unknown> | null => {
  if (/phone/i.test(name) && hints.phones.length) return fc.constantFrom(...hints.phones);
  if (/textHash|^hash$|^text$/.test(name) && hints.textHashes.length) return fc.constantFrom(...hints.textHashes);
  if (/^topic|^key$/.test(name) && hints.topicKeys.length) return fc.constantFrom(...hints.topicKeys);
  if (/Id$|^id$/.test(name) && hints.ids.length) return fc.constantFrom(...hints.ids);
  return null;
};

/**
 * A schema-driven generator of valid-looking values: the shape the schema asks for, sizes kept small, the
 * seeded business's phone numbers, text hashes, topics and ids mixed in by field name.
 */
export function fromSchema(
  schema: Schema,
  components: Record<string, Schema>,
  hints: Hints,
  name = '',
  depth = 0,
): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  if (depth > 6) return fc.constant(null);
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => fromSchema(a, components, hints, name, depth + 1)));
  if (s.allOf?.length) return fromSchema(s.allOf[0]!, components, hints, name, depth + 1);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum?.length) return fc.constantFrom(...s.enum);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  const hint = hinted(name, hints);
  switch (type) {
    case 'string': {
      let base: fc.Arbitrary<string>;
      if (s.format === 'email') base = fc.emailAddress();
      else if (s.pattern)
        base = fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length <= (s.maxLength ?? 200));
      else base = fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
      return hint ? fc.oneof({ arbitrary: hint, weight: 3 }, { arbitrary: base, weight: 1 }) : base;
    }
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1_000, max: s.maximum ?? 1_000_000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1_000, max: s.maximum ?? 1_000_000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const item = s.items
        ? fromSchema(s.items, components, hints, name.replace(/s$/, ''), depth + 1)
        : fc.jsonValue({ maxDepth: 1 });
      return fc.array(item, { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) });
    }
    case 'object':
    default: {
      const props = s.properties ?? {};
      const keys = Object.keys(props);
      if (keys.length === 0)
        return s.additionalProperties === false
          ? fc.constant({})
          : fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
      const model = Object.fromEntries(keys.map((k) => [k, fromSchema(props[k]!, components, hints, k, depth + 1)]));
      return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => keys.includes(k)) });
    }
  }
}

/** Every path into a JSON value (object keys and array indexes), the root included as []. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), value);
  return copy;
}

/**
 * A valid-looking value with one place (a field, an item, the whole) replaced by something hostile, or an unknown key
 * added.
 */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(), fc.oneof(hostileString, wrongType), fc.boolean()).map(([v, i, bad, addKey]) => {
    if (addKey && v && typeof v === 'object' && !Array.isArray(v)) return { ...v, [`x${i % 7}`]: bad };
    const all = paths(v);
    return setAt(v, all[i % all.length]!, bad);
  });
}

/** JSON text nested `levels` deep (built as text: JSON.stringify overflows the stack on such values). */
export const deepJson = (levels: number, kind: 'array' | 'object') =>
  kind === 'array' ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/**
 * A URL path or query component; lone surrogates (which encodeURIComponent refuses) go as the bytes a client could
 * send.
 */
export function urlPart(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s.replace(/[\uD800-\uDFFF]/g, '%ED%A0%80').replace(/[^A-Za-z0-9%_.~-]/g, (c) => encodeURIComponent(c));
  }
}
