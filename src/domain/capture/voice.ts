/**
 * What a phone call hears, step by step: the IVR use cases (services/capture/handle-ivr-call.ts) decide it, the
 * Twilio channel renders it as TwiML (channels/twilio/twiml.ts `voiceScript`).
 */
export type VoiceStep =
  /** Ask for one digit; the digit pressed is POSTed to `action`. Silence falls through to the next step. */
  | { kind: 'gather'; prompt: string; action: string; language: string; timeoutSec: number }
  /** Speak a text, then hang up unless `hangup` is false. */
  | { kind: 'say'; text: string; language: string; hangup: boolean };

export type VoiceScript = VoiceStep[];
