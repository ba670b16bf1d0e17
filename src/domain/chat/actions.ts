/**
 * Reply ids Optline puts on the buttons and list rows it sends, and reads back from `button.payload`
 * (template quick replies) and `interactive.*_reply.id`. One grammar, `optline:<verb>[:<arg>]`, so a tap can
 * never be mistaken for a business's own button ids. Meta echoes ids of up to 256 characters.
 */
export type ChatAction =
  | { type: 'optin'; textHash: string }
  | { type: 'optout_all' }
  | { type: 'optout_topic'; topic: string }
  | { type: 'confirm'; eventId: string }
  | { type: 'notme'; eventId: string }
  | { type: 'dismiss' };

export const CHAT_ACTION_PREFIX = 'optline:';

export const optInReplyId = (textHash: string) => `optline:optin:${textHash}`;
export const optOutAllReplyId = () => 'optline:optout:all';
export const optOutTopicReplyId = (topicKey: string) => `optline:optout:topic:${topicKey}`;
/** On the double opt-in confirmation: completes the pending opt-in `eventId`. */
export const confirmReplyId = (eventId: string) => `optline:confirm:${eventId}`;
/** On the confirmation: "this was not me": stops everything for the number. */
export const notMeReplyId = (eventId: string) => `optline:notme:${eventId}`;
export const dismissReplyId = () => 'optline:dismiss';

const HASH = /^[0-9a-f]{64}$/;
const TOPIC = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const EVENT = /^evt_[0-9a-z]{26}$/;

/** The action a reply id stands for, or null for anything that is not a well-formed id of ours. */
export function parseChatAction(id: string | undefined): ChatAction | null {
  if (!id || !id.startsWith(CHAT_ACTION_PREFIX)) return null;
  const [verb, ...rest] = id.slice(CHAT_ACTION_PREFIX.length).split(':');
  const arg = rest.join(':');
  switch (verb) {
    case 'optin':
      return HASH.test(arg) ? { type: 'optin', textHash: arg } : null;
    case 'optout':
      if (arg === 'all') return { type: 'optout_all' };
      if (rest[0] === 'topic' && rest.length === 2 && TOPIC.test(rest[1]!))
        return { type: 'optout_topic', topic: rest[1]! };
      return null;
    case 'confirm':
      return EVENT.test(arg) ? { type: 'confirm', eventId: arg } : null;
    case 'notme':
      return EVENT.test(arg) ? { type: 'notme', eventId: arg } : null;
    case 'dismiss':
      return arg === '' ? { type: 'dismiss' } : null;
    default:
      return null;
  }
}

/**
 * Template quick replies that mean "stop marketing": Meta's own opt-out button (its label varies; "Stop
 * promotions" is the common one) and the payload businesses usually give it. Compared after keyword
 * normalisation (case, spacing, punctuation, emoji), so "STOP PROMOTIONS 🛑" counts.
 */
export const MARKETING_STOP_REPLIES: readonly string[] = Object.freeze([
  'OPTOUT_MARKETING',
  'OPT_OUT_MARKETING',
  'STOP_MARKETING',
  'STOP MARKETING',
  'Stop promotions',
  'Stop promotion',
  'Unsubscribe from marketing',
  'Opt out of marketing messages',
]);
