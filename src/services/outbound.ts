/**
 * The ports through which use cases send outside WhatsApp: SMS (a business's Twilio account) and email (an SMTP
 * server). The adapters live beside their wire formats (channels/twilio/sms-port.ts, channels/smtp/mail-port.ts),
 * with the loopback fakes the tests and the sandbox use (channels/twilio/fake-twilio-api.ts, an SMTP sink). The
 * WhatsApp sends go through the outbox and the worker instead: those are gated, these are invitations.
 */

/** A business's Twilio sender: its credentials and a From number or a Messaging Service. */
export interface SmsAccount {
  accountSid: string;
  authToken: string;
  from?: string;
  messagingServiceSid?: string;
}

export type SmsResult =
  | { ok: true; sid: string }
  | {
      ok: false;
      /** `opted_out`: the number replied STOP to this sender (Twilio 21610). */
      kind: 'opted_out' | 'invalid_number' | 'auth' | 'rate_limited' | 'transient' | 'permanent';
      code: number;
      message: string;
      retryable: boolean;
    };

export interface SmsPort {
  send(account: SmsAccount, message: { to: string; body: string }): Promise<SmsResult>;
}

/** An SMTP server and the From address used on it. */
export interface MailServer {
  url: string;
  from: string;
}

export interface OutboundMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** RFC 8058 one-click unsubscribe: added as List-Unsubscribe headers when the URL allows (https or loopback). */
  unsubscribeUrl?: string;
}

export type MailResult = { ok: true; messageId: string } | { ok: false; retryable: boolean; message: string };

export interface MailPort {
  send(server: MailServer, mail: OutboundMail): Promise<MailResult>;
  /** Closes pooled connections (the app's close). */
  close(): void;
}

export interface OutboundPorts {
  sms: SmsPort;
  mail: MailPort;
}
