import type { VoiceCallback } from '../../domain/inbound.js';
import type { VoiceScript, VoiceStep } from '../../domain/capture/voice.js';
import { getBusiness, listTopics } from '../../storage/business/business-store.js';
import { isUniqueViolation } from '../../storage/db.js';
import type { ServiceContext } from '../context.js';
import {
  captureLanguage,
  captureText,
  listNames,
  VOICE_LANGUAGE,
  type CaptureLanguage,
} from '../../domain/capture/texts.js';
import { getText, registerText } from '../admin/manage-texts.js';
import { textShownOn } from '../../domain/consent/text-channels.js';
import { recordOptIn } from '../consent/record-opt-in.js';
import { recordOptOut } from '../consent/record-opt-out.js';

interface Menu {
  lang: CaptureLanguage;
  prompt: string;
  textHash: string;
}

/**
 * What the phone menu says, registered as an opt-in text (name "ivr-prompt-<lang>"): the words spoken are the
 * consent text, so the opt-in keeps their hash like any other. Registering is idempotent by content.
 */
async function menuFor(ctx: ServiceContext, businessId: string): Promise<Menu | null> {
  const business = await getBusiness(ctx.database.db, businessId);
  if (!business) return null;
  const topics = (await listTopics(ctx.database.db, businessId)).filter(
    (t) => t.archivedAt === null && business.policy.allowedCategories.includes(t.category),
  );
  if (topics.length === 0) return null;
  const lang = captureLanguage(business.policy.defaultLanguage);
  const prompt = captureText(lang, 'ivrPrompt', {
    business: business.displayName,
    topics: listNames(
      lang,
      topics.map((t) => t.name),
    ),
  });
  // A phone script: registered for the phone only, so no page or message ever shows it as a written text.
  const text = await registerText(ctx, businessId, {
    name: `ivr-prompt-${lang}`,
    language: lang,
    body: prompt,
    topicKeys: topics.map((t) => t.key),
    channels: ['ivr'],
  });
  return text.usable ? { lang, prompt, textHash: text.hash } : null;
}

const choiceUrl = (publicUrl: string, attempt: number, textHash: string, lang: CaptureLanguage) =>
  `${publicUrl}/webhooks/twilio/voice/choice?attempt=${attempt}&text=${textHash}&lang=${lang}`;

const gather = (publicUrl: string, menu: Menu, attempt: number): VoiceStep => ({
  kind: 'gather',
  action: choiceUrl(publicUrl, attempt, menu.textHash, menu.lang),
  prompt: menu.prompt,
  timeoutSec: 6,
  language: VOICE_LANGUAGE[menu.lang],
});

const sayStep = (lang: CaptureLanguage, text: string, hangup = true): VoiceStep => ({
  kind: 'say',
  text,
  language: VOICE_LANGUAGE[lang],
  hangup,
});
const say = (lang: CaptureLanguage, text: string): VoiceScript => [sayStep(lang, text)];

/**
 * A call to the business's Twilio number: the menu, asked twice if the caller presses nothing (Twilio falls
 * through to the next verb on silence), then goodbye.
 */
export async function startIvrCall(ctx: ServiceContext, businessId: string, publicUrl: string): Promise<VoiceScript> {
  // The first calls of a business register the menu text at the same moment: the one that lost the race reads it.
  const menu = await menuFor(ctx, businessId).catch((e: unknown) => {
    if (!isUniqueViolation(e)) throw e;
    return menuFor(ctx, businessId);
  });
  if (!menu) {
    const business = await getBusiness(ctx.database.db, businessId);
    const lang = captureLanguage(business?.policy.defaultLanguage);
    return say(lang, captureText(lang, 'ivrUnavailable'));
  }
  return [
    gather(publicUrl, menu, 1),
    gather(publicUrl, menu, 2),
    sayStep(menu.lang, captureText(menu.lang, 'ivrGoodbye')),
  ];
}

export interface IvrChoiceOutcome {
  action: 'opted_in' | 'opted_out' | 'retry' | 'goodbye';
  /** What the caller hears next. */
  script: VoiceScript;
  eventId?: string;
}

/**
 * The digit pressed. 1 opts in to the topics the menu named (the spoken words are the text), 9 opts out of
 * everything; the result is spoken back. Anything else, or nothing, asks once more, then says goodbye: nothing
 * is recorded for those.
 */
export async function handleIvrChoice(
  ctx: ServiceContext,
  businessId: string,
  call: VoiceCallback,
  q: { attempt: number; textHash: string; lang: string },
  publicUrl: string,
): Promise<IvrChoiceOutcome> {
  const business = await getBusiness(ctx.database.db, businessId);
  const lang = captureLanguage(q.lang);
  const vars = { business: business?.displayName ?? '' };
  const evidence = {
    callId: call.callSid,
    digits: call.digits ?? '',
    from: call.from,
    to: call.to,
    attempt: q.attempt,
  };

  if (call.digits === '9') {
    const r = await recordOptOut(ctx, businessId, {
      person: { phone: call.from },
      scope: 'all',
      channel: 'ivr',
      action: 'pressed_digit',
      evidence,
      sourceRef: `twilio-call:${call.callSid}:9`,
      actor: 'twilio:voice',
    });
    return { action: 'opted_out', script: say(lang, captureText(lang, 'ivrOptedOut', vars)), eventId: r.event.id };
  }
  if (call.digits === '1') {
    let text;
    try {
      text = await getText(ctx, businessId, q.textHash);
    } catch {
      text = null;
    }
    if (!text?.usable || !textShownOn(text, 'ivr'))
      return { action: 'goodbye', script: say(lang, captureText(lang, 'ivrUnavailable')) };
    const r = await recordOptIn(ctx, businessId, {
      person: { phone: call.from },
      topics: text.topicKeys,
      channel: 'ivr',
      action: 'pressed_digit',
      textHash: text.hash,
      evidence: { ...evidence, spokenText: text.body },
      sourceRef: `twilio-call:${call.callSid}:1`,
      actor: 'twilio:voice',
      language: lang,
    });
    const topics = await listTopics(ctx.database.db, businessId);
    const names = listNames(
      lang,
      text.topicKeys.map((k) => topics.find((t) => t.key === k)?.name ?? k),
    );
    const pending = r.changed.some((c) => c.status === 'pending');
    return {
      action: 'opted_in',
      script: say(lang, captureText(lang, pending ? 'ivrPending' : 'ivrOptedIn', { ...vars, topics: names })),
      eventId: r.event.id,
    };
  }
  if (q.attempt < 2) {
    const menu = await menuFor(ctx, businessId);
    if (menu) {
      return {
        action: 'retry',
        script: [
          sayStep(lang, captureText(lang, 'ivrRetry'), false),
          gather(publicUrl, menu, 2),
          sayStep(menu.lang, captureText(menu.lang, 'ivrGoodbye')),
        ],
      };
    }
  }
  return { action: 'goodbye', script: say(lang, captureText(lang, 'ivrGoodbye')) };
}
