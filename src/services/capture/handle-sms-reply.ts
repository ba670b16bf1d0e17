import { createKeywordMatcher, normaliseKeywordText, type KeywordConfig } from '../../domain/chat/keywords.js';
import type { InboundMessage } from '../../domain/inbound.js';
import { getBusiness, listTopics } from '../../storage/business/business-store.js';
import { latestKeywordInvitation } from '../../storage/capture/invitation-store.js';
import type { ServiceContext } from '../context.js';
import { captureLanguage, captureText, listNames } from '../../domain/capture/texts.js';
import { recordOptIn } from '../consent/record-opt-in.js';
import { recordOptOut } from '../consent/record-opt-out.js';
import { SMS_ACCEPT_KEYWORD } from './send-sms-invitation.js';

export type SmsReplyAction = 'opted_in' | 'opted_out' | 'no_invitation' | 'help' | 'none';

export interface SmsReplyOutcome {
  action: SmsReplyAction;
  /** The TwiML <Message> text: the acknowledgement goes back on SMS, the channel the request came on. */
  reply: string | null;
  eventId?: string;
}

const ACCEPT = normaliseKeywordText(SMS_ACCEPT_KEYWORD);
const isAccept = (body: string) => {
  const n = normaliseKeywordText(body);
  return n === ACCEPT || n.replace(/[\s\p{P}]+/gu, '') === ACCEPT.replace(/\s+/g, '');
};

/**
 * One inbound SMS to a business's Twilio number (signature already verified). STOP and every equivalent the
 * chat understands (the same keyword matcher, the business's keyword settings) opts the person out of all the
 * business's WhatsApp messages; Twilio's own OptOutType=STOP does too. "YES WA" opts in to the topics of the
 * latest SMS invitation to that number. Twilio's MessageSid makes a redelivered webhook a no-op.
 */
export async function handleSmsReply(
  ctx: ServiceContext,
  businessId: string,
  msg: InboundMessage,
): Promise<SmsReplyOutcome> {
  const business = await getBusiness(ctx.database.db, businessId);
  if (!business) return { action: 'none', reply: null };
  const now = ctx.clock.now();
  const invitation = await latestKeywordInvitation(ctx.database.db, businessId, msg.from, now);
  const lang = captureLanguage(invitation?.language ?? business.policy.defaultLanguage);
  const vars = { business: business.displayName };
  const match = createKeywordMatcher(business.policy.keywords as KeywordConfig)(msg.body);

  if (msg.optOutType === 'STOP' || (match.type === 'match' && match.kind === 'opt_out')) {
    const r = await recordOptOut(ctx, businessId, {
      person: { phone: msg.from },
      scope: 'all',
      channel: 'sms',
      action: 'sent_keyword',
      evidence: {
        messageId: msg.messageSid,
        text: msg.body.slice(0, 160),
        to: msg.to,
        ...(msg.optOutType ? { optOutType: msg.optOutType } : {}),
      },
      sourceRef: `twilio-sms:${msg.messageSid}`,
      actor: 'twilio:sms',
    });
    return { action: 'opted_out', reply: captureText(lang, 'smsOptedOut', vars), eventId: r.event.id };
  }

  if (isAccept(msg.body)) {
    if (!invitation) return { action: 'no_invitation', reply: captureText(lang, 'smsNoInvitation', vars) };
    const r = await recordOptIn(ctx, businessId, {
      person: { phone: msg.from },
      topics: invitation.topicKeys,
      channel: 'sms',
      action: 'sent_keyword',
      textHash: invitation.textHash,
      evidence: {
        messageId: msg.messageSid,
        text: msg.body.slice(0, 160),
        invitationId: invitation.id,
        invitationSid: invitation.providerMessageId,
        to: msg.to,
      },
      sourceRef: `twilio-sms:${msg.messageSid}`,
      actor: 'twilio:sms',
      language: invitation.language,
    });
    const topics = await listTopics(ctx.database.db, businessId);
    const names = invitation.topicKeys.map((k) => topics.find((t) => t.key === k)?.name ?? k);
    return {
      action: 'opted_in',
      reply: captureText(lang, 'smsOptedIn', { ...vars, topics: listNames(lang, names) }),
      eventId: r.event.id,
    };
  }

  if (match.type === 'match' && match.kind === 'help')
    return { action: 'help', reply: captureText(lang, 'smsHelp', vars) };
  // "please stop texting me": not acted on (the sentence may mean the opposite), but the way out is named.
  if (match.type === 'mention' && match.kind === 'opt_out')
    return { action: 'none', reply: captureText(lang, 'smsMentionStop', vars) };
  // START and anything else: no WhatsApp consent is inferred from an SMS that is not an answer to an invitation.
  return { action: 'none', reply: null };
}
