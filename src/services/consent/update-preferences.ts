import type { ConsentStatus } from '../../domain/consent/model.js';
import { getBusiness, listTopics, type Business } from '../../storage/business/business-store.js';
import { getStates } from '../../storage/consent/consent-store.js';
import { findPerson } from '../../storage/consent/people-store.js';
import type { ServiceContext } from '../context.js';
import { chooseOptInText } from './choose-optin-text.js';
import { topicNameIn } from '../../domain/consent/topic-names.js';
import type { ConsentText } from '../admin/manage-texts.js';
import { recordOptIn } from './record-opt-in.js';
import { recordOptOut } from './record-opt-out.js';

export interface PreferenceTopic {
  key: string;
  name: string;
  status: ConsentStatus | null;
  /** Off, and the text shown does not cover it: it can be turned on elsewhere, not here. */
  locked: boolean;
}

export type PreferenceView =
  | {
      kind: 'ok';
      business: Business;
      language: string | null;
      pageLanguage: string;
      topics: PreferenceTopic[];
      text: ConsentText | null;
    }
  | { kind: 'erased'; business: Business }
  | { kind: 'missing' };

/**
 * The person's topics with their current state (named in the page's language), and the text a newly ticked box
 * agrees to, in that language. `lang` is the page's language, or a function choosing it from a fallback (the
 * person's language, else the business's default language).
 */
export async function loadPreferences(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  lang: string | ((fallback: string) => string),
): Promise<PreferenceView> {
  const db = ctx.database.db;
  const business = await getBusiness(db, businessId);
  const person = business ? await findPerson(db, businessId, { personId }) : null;
  if (!business || !person) return { kind: 'missing' };
  if (person.erased_at !== null) return { kind: 'erased', business };
  const live = (await listTopics(db, businessId)).filter(
    (t) => t.archivedAt === null && business.policy.allowedCategories.includes(t.category),
  );
  const states = await getStates(db, businessId, personId);
  const language = typeof lang === 'function' ? lang(person.language ?? business.policy.defaultLanguage) : lang;
  const choice = { language, fallback: business.policy.defaultLanguage };
  const text =
    (await chooseOptInText(db, businessId, { ...choice, topics: live.map((t) => t.key) })) ??
    (await chooseOptInText(db, businessId, choice));
  const topics = live.map((t) => {
    const status = states.get(t.id)?.status ?? null;
    const on = status === 'opted_in' || status === 'pending';
    return {
      key: t.key,
      name: topicNameIn(t, language),
      status,
      locked: !on && !(text?.topicKeys.includes(t.key) ?? false),
    };
  });
  return { kind: 'ok', business, language: person.language, pageLanguage: language, topics, text };
}

export interface PreferenceChange {
  action: 'save' | 'stop_all';
  /** Boxes ticked, of those the page offered. */
  checked: string[];
  offered: string[];
  textHash: string | null;
  evidence: { ip: string; userAgent: string; pageUrl: string; tokenId: string };
}

/**
 * Applies the preference form: "stop everything" is one opt-out of every topic; otherwise newly ticked topics
 * are an opt-in (the text shown is its text) and newly unticked ones an opt-out of those topics. Each change is
 * its own consent event carrying the IP, user agent and link id.
 */
export async function applyPreferences(
  ctx: ServiceContext,
  businessId: string,
  personId: string,
  change: PreferenceChange,
): Promise<{ result: 'stopped' | 'saved' | 'unchanged' }> {
  const actor = 'page:preferences';
  if (change.action === 'stop_all') {
    await recordOptOut(ctx, businessId, {
      person: { personId },
      scope: 'all',
      channel: 'web',
      action: 'clicked_link',
      evidence: change.evidence,
      actor,
    });
    return { result: 'stopped' };
  }
  const view = await loadPreferences(ctx, businessId, personId, 'en');
  if (view.kind !== 'ok') return { result: 'unchanged' };
  const offered = view.topics.filter((t) => change.offered.includes(t.key));
  const isOn = (t: PreferenceTopic) => t.status === 'opted_in' || t.status === 'pending';
  const turnOn = offered.filter((t) => change.checked.includes(t.key) && !isOn(t) && !t.locked).map((t) => t.key);
  const turnOff = offered.filter((t) => !change.checked.includes(t.key) && isOn(t)).map((t) => t.key);
  if (turnOn.length && change.textHash) {
    await recordOptIn(ctx, businessId, {
      person: { personId },
      topics: turnOn,
      channel: 'web',
      action: 'checked_box',
      textHash: change.textHash,
      evidence: { ...change.evidence, topicsChecked: turnOn },
      actor,
      ...(view.language ? { language: view.language } : {}),
    });
  }
  if (turnOff.length) {
    await recordOptOut(ctx, businessId, {
      person: { personId },
      scope: 'topics',
      topics: turnOff,
      channel: 'web',
      action: 'toggled_setting',
      evidence: { ...change.evidence, topicsUnchecked: turnOff },
      actor,
    });
  }
  return { result: (turnOn.length && change.textHash) || turnOff.length ? 'saved' : 'unchanged' };
}
