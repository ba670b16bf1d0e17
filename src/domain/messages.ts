/**
 * What an outbox row (`messages.payload`) carries, by the row's kind. The services that queue a message write
 * these shapes; the worker (claim, render, outcomes), the reports and the API read them. This file is the
 * contract: nothing else describes a payload.
 */

/** The kinds of outbox rows: a business's notification, the confirmation of an opt-in, a chat reply. */
export type MessageKind = 'notification' | 'confirmation' | 'reply';

/** Why a `reply` exists (the worker sends replies inside the open window, without a consent check). */
export type ReplyPurpose = 'optout_ack' | 'help' | 'optin_ack' | 'support' | 'optin_prompt' | 'repermission';

/** An approved template and its parameters, as the API takes it (POST /v1/messages). */
export interface TemplateSpec {
  name: string;
  /** Template language code, e.g. "en_US". */
  language: string;
  bodyParams?: string[];
  /** Developer payloads of the template's quick-reply buttons, by index. */
  buttonPayloads?: string[];
}

/** A choice of an in-chat prompt: its reply id (domain/chat/actions.ts) and its label. */
export interface PromptOption {
  id: string;
  title: string;
}

/** An in-chat question with buttons (at most 3) or a list: rendered by the worker with WhatsApp's builders. */
export interface ChatPrompt {
  style: 'buttons' | 'list';
  body: string;
  options: PromptOption[];
  /** The list's button label (style `list`). */
  buttonText?: string;
}

/** Written by the worker on a retry after an engagement error (131049), on any kind. */
interface Retried {
  engagementTries?: number;
}

export interface NotificationPayload extends Retried {
  template: TemplateSpec;
  /** The hash of the request that queued it: an idempotent replay must ask for the same thing. */
  requestHash: string;
}

export interface ConfirmationPayload extends Retried {
  /** The topics whose opt-in took effect, in order. */
  topicKeys: string[];
  /** Ask "Is this you?" with buttons instead of only confirming. */
  doubleOptIn: boolean;
  language?: string;
  /** Minted when queued (services/consent/confirmation-link.ts): the worker only renders it. */
  preferenceLink?: { url: string; templateParam: number | null };
  /** Set when the opt-ins moved with a number change. */
  reason?: 'number_changed';
}

export interface ReplyPayload extends Retried {
  /** Always there: the text sent, or what the prompt says. */
  text: string;
  purpose: ReplyPurpose;
  /** An opt-in prompt: sent as buttons or a list instead of text. */
  prompt?: ChatPrompt;
  /** The opt-in text a prompt asks for. */
  textHash?: string;
  /** A re-permission prompt: the topic it renews, and the opt-in event it renews. */
  topicKeys?: string[];
  renews?: string;
  /** The language the reply was written in, and the inbound message (wamid) it answers. */
  language?: string;
  inReplyTo?: string;
  /** Which chat rule produced it (e.g. `keyword_in_sentence`). */
  rule?: string;
  /**
   * Rows queued before version 0.1 kept the Cloud API `interactive` object itself; still sent as stored.
   * @deprecated written by nothing now.
   */
  interactive?: Record<string, unknown>;
}

export interface PayloadOf {
  notification: NotificationPayload;
  confirmation: ConfirmationPayload;
  reply: ReplyPayload;
}
export type MessagePayload = PayloadOf[MessageKind];

/** A message to queue: its kind and the payload that kind carries. */
export type KindAndPayload = {
  [K in MessageKind]: { kind: K; payload: PayloadOf[K] };
}[MessageKind];

/** The topics a message is about (a confirmation's, a re-permission prompt's), from a payload of any kind. */
export const topicKeysOf = (payload: MessagePayload): string[] => {
  const keys = (payload as { topicKeys?: unknown }).topicKeys;
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
};

/** The template a notification names (null for the other kinds). */
export const templateOf = (payload: MessagePayload): TemplateSpec | null =>
  (payload as Partial<NotificationPayload>).template ?? null;
