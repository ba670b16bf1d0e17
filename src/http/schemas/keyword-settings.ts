import { Type } from '@sinclair/typebox';

/**
 * The keyword settings beyond the packs (domain/chat/keyword-config-lists.ts): opt-in keywords, intent phrases,
 * languages per country, and business keywords with their own language. The schema checks shapes; the meaning
 * (a word that opts out anywhere never opts in, the bound text usable on WhatsApp) is checked by the service.
 */
const Language = Type.String({ minLength: 2, maxLength: 6, pattern: '^[a-z]{2,3}(-[A-Za-z]{2})?$' });
const Word = Type.String({ minLength: 1, maxLength: 64 });

export const ExtraKeywordSchema = Type.Union([
  Word,
  Type.Object(
    { keyword: Word, language: Language },
    { additionalProperties: false, description: 'A keyword in its own language' },
  ),
]);

export const KeywordSettingsSchemas = {
  optInKeywords: Type.Optional(
    Type.Array(
      Type.Object(
        {
          keyword: Word,
          language: Language,
          textHash: Type.String({
            minLength: 1,
            maxLength: 128,
            description: 'A registered opt-in text for the whatsapp channel',
          }),
          topics: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
            minItems: 1,
            maxItems: 50,
            uniqueItems: true,
          }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 50, description: 'Keywords that opt in to topics, each bound to a checked text' },
    ),
  ),
  intent: Type.Optional(
    Type.Object(
      {
        phrases: Type.Optional(
          Type.Record(Language, Type.Array(Type.String({ minLength: 1, maxLength: 120 }), { maxItems: 100 }), {
            maxProperties: 50,
            description: 'More whole-message phrases that opt out, per language',
          }),
        ),
        disabled: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 120 }), { maxItems: 200 })),
      },
      { additionalProperties: false },
    ),
  ),
  countries: Type.Optional(
    Type.Record(
      Type.String({ pattern: '^[A-Z]{2}$', maxLength: 2 }),
      Type.Object(
        {
          languages: Type.Array(Type.String({ minLength: 2, maxLength: 10 }), { maxItems: 10 }),
        },
        { additionalProperties: false },
      ),
      { maxProperties: 250, description: "Packs first for senders from a country (their number's)" },
    ),
  ),
};
