import { fail } from '../../domain/errors.js';
import { checkOptInText, textIsUsable, type TextCheck } from '../../domain/consent/optin-text.js';
import { normaliseChannels, isWrittenSet, type TextChannel } from '../../domain/consent/text-channels.js';
import { sha256Hex } from '../../lib/crypto.js';
import { isUniqueViolation } from '../../storage/db.js';
import { getBusiness, getTopicsByKeys, lockBusiness } from '../../storage/business/business-store.js';
import { parseJson } from '../../storage/json.js';
import type { DB } from '../../storage/schema.js';
import type { ServiceContext } from '../context.js';
import { topicNameIn } from '../../domain/consent/topic-names.js';
import { writeAudit } from '../../storage/audit/audit-store.js';

export interface ConsentText {
  hash: string;
  name: string;
  version: number;
  language: string;
  body: string;
  topicKeys: string[];
  checks: TextCheck[];
  usable: boolean;
  createdAt: number;
  /** The channels the text may be shown on (domain/consent/text-channels.ts). */
  channels: TextChannel[];
}

export const toText = (r: DB['consent_texts']): ConsentText => ({
  hash: r.hash,
  name: r.name,
  version: Number(r.version),
  language: r.language,
  body: r.body,
  topicKeys: parseJson<string[]>(r.topic_keys, []),
  checks: parseJson<TextCheck[]>(r.checks, []),
  usable: Number(r.usable) === 1,
  createdAt: Number(r.created_at),
  channels: normaliseChannels(parseJson<string[]>(r.channels, [])),
});

/**
 * The hash a text is stored under: the exact words, the topics they cover, and (when not the written channels,
 * so that texts registered before channels existed keep their hash) the channels they are shown on.
 */
export const textHash = (body: string, topicKeys: string[], language: string, channels?: readonly TextChannel[]) =>
  sha256Hex(
    JSON.stringify(
      !channels || isWrittenSet(channels)
        ? [body, [...topicKeys].sort(), language]
        : [body, [...topicKeys].sort(), language, channels],
    ),
  );

/** Attempts of a registration that raced another one with the same words or name (each retry reads the winner). */
const REGISTER_ATTEMPTS = 5;

/**
 * Registers an opt-in text. Stored once by content hash: registering the same words again returns the existing
 * version. A text that fails a check is stored (so the business can see why) but can never be used.
 */
export async function registerText(
  ctx: ServiceContext,
  businessId: string,
  input: {
    name: string;
    language: string;
    body: string;
    topicKeys: string[];
    channels?: TextChannel[];
    actor?: string;
  },
): Promise<ConsentText> {
  // Concurrent registrations of the same words (or of one name's next version) collide on the primary key or
  // on (name, version): the loser runs again and answers as a sequential call would (the same text, or the
  // next version), never a 500.
  for (let attempt = 1; ; attempt++) {
    try {
      return await registerOnce(ctx, businessId, input);
    } catch (e) {
      if (!isUniqueViolation(e) || attempt >= REGISTER_ATTEMPTS) throw e;
    }
  }
}

function registerOnce(
  ctx: ServiceContext,
  businessId: string,
  input: {
    name: string;
    language: string;
    body: string;
    topicKeys: string[];
    channels?: TextChannel[];
    actor?: string;
  },
): Promise<ConsentText> {
  return ctx.database.transaction(async (trx) => {
    // One registration per business at a time where there are row locks: the version read below then sees
    // every earlier one committed (the insert takes this row anyway, through the config_version trigger).
    await lockBusiness(trx, businessId);
    const business = await getBusiness(trx, businessId);
    if (!business) return fail('NOT_FOUND', 'No such business.', 'businessId');
    const keys = [...new Set(input.topicKeys)];
    const topics = await getTopicsByKeys(trx, businessId, keys);
    const unknown = keys.filter((k) => !topics.some((t) => t.key === k));
    if (unknown.length) fail('UNKNOWN_TOPIC', `Unknown topic(s): ${unknown.join(', ')}.`, 'topicKeys');
    const channels = normaliseChannels(input.channels);
    const hash = textHash(input.body, keys, input.language, channels);
    const existing = await trx
      .selectFrom('consent_texts')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('hash', '=', hash)
      .executeTakeFirst();
    if (existing) return toText(existing);
    // A translated text is checked in its own language: it must name each topic as that language names it.
    const checks = checkOptInText({
      body: input.body,
      businessName: business.displayName,
      topics: namedIn(topics, input.language),
    });
    const last = await trx
      .selectFrom('consent_texts')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('business_id', '=', businessId)
      .where('name', '=', input.name)
      .executeTakeFirst();
    const row = {
      business_id: businessId,
      hash,
      name: input.name,
      version: Number(last?.v ?? 0) + 1,
      language: input.language,
      body: input.body,
      topic_keys: JSON.stringify(keys.sort()),
      checks: JSON.stringify(checks),
      usable: textIsUsable(checks) ? 1 : 0,
      created_at: ctx.clock.now(),
      channels: JSON.stringify(channels),
    };
    await trx.insertInto('consent_texts').values(row).execute();
    await writeAudit(trx, businessId, row.created_at, {
      actor: input.actor ?? 'system',
      action: 'text.register',
      target: hash,
      detail: { name: input.name, version: row.version, language: input.language, usable: row.usable === 1 },
    });
    return toText(row);
  });
}

export async function getText(ctx: ServiceContext, businessId: string, hash: string): Promise<ConsentText> {
  const r = await ctx.database.db
    .selectFrom('consent_texts')
    .selectAll()
    .where('business_id', '=', businessId)
    .where('hash', '=', hash)
    .executeTakeFirst();
  if (!r) return fail('NOT_FOUND', 'No such opt-in text.', 'hash');
  return toText(r);
}

export async function listTexts(ctx: ServiceContext, businessId: string): Promise<ConsentText[]> {
  const rows = await ctx.database.db
    .selectFrom('consent_texts')
    .selectAll()
    .where('business_id', '=', businessId)
    .orderBy('name')
    .orderBy('version')
    .execute();
  return rows.map(toText);
}

/** The topics as a text in `language` must name them (their names in that language, else their default names). */
export const namedIn = (topics: { key: string; name: string; names?: Record<string, string> }[], language: string) =>
  topics.map((t) => ({ key: t.key, name: topicNameIn(t, language) }));
