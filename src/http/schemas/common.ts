import { Type, type TSchema } from '@sinclair/typebox';
import { ACTIVE_ACTIONS, CHANNELS } from '../../domain/consent/model.js';
import { CATEGORIES } from '../../domain/gate/policy.js';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable error code; see docs/errors.md' }),
    detail: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);

export const problemRef = Type.Ref('Problem');

/** Standard error responses every authenticated route can give. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries([400, 401, 403, ...statuses].map((s) => [s, problemRef]));

/** The SHA-256 of a registered opt-in text, as lowercase hex. */
export const TextHash = (description?: string) =>
  Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$', ...(description ? { description } : {}) });

export const Timestamp = Type.Integer({ description: 'Epoch milliseconds', minimum: 0 });
export const Id = Type.String({ minLength: 3, maxLength: 64, pattern: '^[a-z]{2,4}_[0-9a-z]{26}$' });
export const TopicKey = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' });
export const Slug = Type.String({ minLength: 2, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' });
export const CategorySchema = Type.Union(CATEGORIES.map((c) => Type.Literal(c)));
export const ChannelSchema = Type.Union(CHANNELS.map((c) => Type.Literal(c)));
export const ActiveActionSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  description: `An active user action: ${ACTIVE_ACTIONS.join(', ')}`,
});

export const PersonRefSchema = Type.Object(
  {
    phone: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'Any format; normalised to E.164' })),
    defaultCountry: Type.Optional(
      Type.String({ maxLength: 2, pattern: '^[A-Z]{2}$', description: 'ISO country for national-format numbers' }),
    ),
    personId: Type.Optional(Id),
    waId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    bsuid: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Evidence = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  description:
    'Proof of the user action: ip, userAgent, pageUrl (web); messageId (WhatsApp/SMS); callId, digits (IVR); appUserId or deviceId (app)',
  maxProperties: 50,
});

export const PageQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);

export const page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 80 }) },
  { additionalProperties: false },
);
