import { Type } from '@sinclair/typebox';
import { Nullable } from './common.js';

/** policy.consentExpiry and policy.templateGuard (domain/gate/expiry-policy.ts checks their values). */
export const ConsentExpirySchema = Type.Object(
  {
    pendingDays: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3650,
        description: 'A double opt-in not confirmed within this many days expires (0: never; default 30)',
      }),
    ),
    validityDays: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 1, maximum: 3650 }), {
        maxProperties: 200,
        description: "Consent validity in days per topic key ('*': every other topic); absent: consent never lapses",
      }),
    ),
    repermissionLeadDays: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3650,
        description: 'Ask the person to renew this many days before the consent lapses (0: no prompt)',
      }),
    ),
    repermissionTemplate: Type.Optional(
      Nullable(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 512 }),
            language: Type.String({ minLength: 2, maxLength: 15 }),
          },
          {
            additionalProperties: false,
            description: "The approved template for the prompt when the person's 24 h window is closed",
          },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export const TemplateGuardSchema = Nullable(
  Type.Object(
    {
      optOutRate: Type.Optional(
        Type.Number({
          exclusiveMinimum: 0,
          maximum: 1,
          description: 'Opt-outs per notification of a template that pause it (0.02 = 2 %)',
        }),
      ),
      minRecipients: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 10_000_000,
          description: 'Notifications in the window before a template is judged',
        }),
      ),
      windowHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 744 })),
    },
    {
      additionalProperties: false,
      description: 'Pauses a template whose opt-out rate passes the threshold; null: off',
    },
  ),
);
