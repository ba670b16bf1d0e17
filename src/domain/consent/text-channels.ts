/**
 * Where an opt-in text may be shown. A text is words for one medium: a phone menu's script ("Press 1 to opt
 * in…") is no text for a web page, and a page's words are no script for a call. Each registered text carries
 * the channels it may be shown on, and every capture path picks only among the texts for its own channel.
 */
export const TEXT_CHANNELS = ['web', 'app', 'whatsapp', 'sms', 'email', 'ivr'] as const;
export type TextChannel = (typeof TEXT_CHANNELS)[number];

/** A text registered without channels is for the written channels: everything but the phone. */
export const WRITTEN_CHANNELS: readonly TextChannel[] = ['web', 'app', 'whatsapp', 'sms', 'email'];

export const isTextChannel = (c: unknown): c is TextChannel =>
  typeof c === 'string' && (TEXT_CHANNELS as readonly string[]).includes(c);

/** Unique, in the canonical order (so equal sets compare and hash equal); none given: the written channels. */
export function normaliseChannels(list: readonly string[] | undefined): TextChannel[] {
  if (!list || list.length === 0) return [...WRITTEN_CHANNELS];
  return TEXT_CHANNELS.filter((c) => list.includes(c));
}

export const isWrittenSet = (channels: readonly TextChannel[]) =>
  channels.length === WRITTEN_CHANNELS.length && WRITTEN_CHANNELS.every((c) => channels.includes(c));

export const textShownOn = (text: { channels: readonly string[] }, channel: TextChannel): boolean =>
  text.channels.includes(channel);
