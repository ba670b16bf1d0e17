import { ROLES } from '../../domain/access/roles.js';
import { Type } from '@sinclair/typebox';
import { CategorySchema, Nullable, Slug, Timestamp } from './common.js';
import { ExtraKeywordSchema, KeywordSettingsSchemas } from './keyword-settings.js';
import { ConsentExpirySchema, TemplateGuardSchema } from './expiry-policy.js';

export const PolicySchema = Type.Object(
  {
    allowedCategories: Type.Optional(Type.Array(CategorySchema, { minItems: 1, uniqueItems: true })),
    frequencyCaps: Type.Optional(
      Type.Array(
        Type.Object(
          {
            topic: Type.String({
              minLength: 1,
              maxLength: 64,
              description: "A topic key, or '*' for all notifications",
            }),
            max: Type.Integer({ minimum: 1, maximum: 10000 }),
            windowHours: Type.Number({
              minimum: 0.01,
              maximum: 744,
              description: 'Above 0 (at least 0.01, 36 seconds)',
            }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 50 },
      ),
    ),
    minSpacingSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
    quietHours: Type.Optional(
      Nullable(
        Type.Object(
          {
            start: Type.String({ maxLength: 5, pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
            end: Type.String({ maxLength: 5, pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
            defaultTimezone: Type.String({ minLength: 1, maxLength: 64 }),
            holidays: Type.Optional(
              Type.Object(
                {
                  recipientCountry: Type.Optional(
                    Type.Boolean({ description: "Public holidays of the recipient's country are quiet all day" }),
                  ),
                  countries: Type.Optional(
                    Type.Array(
                      Type.String({ minLength: 2, maxLength: 2, description: 'ISO 3166-1 alpha-2, e.g. US' }),
                      { maxItems: 20 },
                    ),
                  ),
                },
                { additionalProperties: false, description: 'Public holidays (whole local day) that are quiet too' },
              ),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    doubleOptIn: Type.Optional(Type.Boolean()),
    defaultLanguage: Type.Optional(Type.String({ minLength: 2, maxLength: 10 })),
    keywords: Type.Optional(
      Type.Object(
        {
          languages: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 10 }), { maxItems: 50 })),
          extra: Type.Optional(
            Type.Object(
              {
                optOut: Type.Optional(Type.Array(ExtraKeywordSchema, { maxItems: 100 })),
                optIn: Type.Optional(Type.Array(ExtraKeywordSchema, { maxItems: 100 })),
                help: Type.Optional(Type.Array(ExtraKeywordSchema, { maxItems: 100 })),
              },
              { additionalProperties: false },
            ),
          ),
          disabled: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 200 })),
          ...KeywordSettingsSchemas,
        },
        { additionalProperties: false },
      ),
    ),
    keywordReplies: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 5, pattern: '^[a-z]{2}(-[A-Za-z]{2})?$' }),
        Type.Object(
          {
            opt_out: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
            opt_in: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
            help: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          },
          { additionalProperties: false },
        ),
        { maxProperties: 50 },
      ),
    ),
    confirmationTemplate: Type.Optional(
      Nullable(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 512 }),
            language: Type.String({ minLength: 2, maxLength: 15 }),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    consentExpiry: Type.Optional(ConsentExpirySchema),
    templateGuard: Type.Optional(TemplateGuardSchema),
    preferenceLink: Type.Optional(
      Nullable(
        Type.Object(
          {
            baseUrl: Type.String({
              minLength: 8,
              maxLength: 200,
              description: 'Where people reach the pages (your OPTLINE_PUBLIC_URL)',
            }),
            inConfirmation: Type.Boolean({
              description: 'Put the link in the opt-in confirmation (a line of the text inside the window)',
            }),
            templateParam: Type.Optional(
              Nullable(
                Type.Integer({
                  minimum: 3,
                  maximum: 10,
                  description: 'Outside the window: the confirmation template body parameter that gets the link',
                }),
              ),
            ),
            inKeywordReplies: Type.Optional(
              Type.Array(Type.Union([Type.Literal('opt_out'), Type.Literal('opt_in'), Type.Literal('help')]), {
                uniqueItems: true,
                maxItems: 3,
                description: 'The chat replies (to STOP, START, HELP and their equivalents) that end with the link',
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export const BusinessSchema = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    displayName: Type.String(),
    policy: Type.Object({}, { additionalProperties: true }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Business' },
);

export const CreateBusinessBody = Type.Object(
  {
    slug: Slug,
    displayName: Type.String({ minLength: 1, maxLength: 120, description: 'The name opt-in texts must show' }),
    policy: Type.Optional(PolicySchema),
  },
  { additionalProperties: false },
);

export const UpdateBusinessBody = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    policy: Type.Optional(PolicySchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: 'read: look, export, verify; write: also record and send; admin: also keys and settings' },
);
export const KeyInfoSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  businessId: Nullable(Type.String()),
  role: Nullable(RoleSchema),
  createdAt: Timestamp,
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
});
export const CreatedKeySchema = Type.Object({
  key: Type.String({ description: 'Shown once. Store it now: only its hash is kept.' }),
  info: KeyInfoSchema,
});
export const CreateKeyBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 80 }), role: Type.Optional(RoleSchema) },
  { additionalProperties: false },
);
