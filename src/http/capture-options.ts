/**
 * What the capture plugins (opt-in and opt-out off WhatsApp) need from the configuration (main.ts passes config
 * values).
 */
export interface CaptureOptions {
  /** The URL people and Twilio reach Optline at: links in SMS and email, Twilio signature checks. */
  publicUrl: string;
  /** Twilio-compatible REST base URL (OPTLINE_TWILIO_API_URL). */
  twilioApiUrl: string;
  /** Platform SMTP server for invitation emails, used when the business has no smtp channel of its own. */
  smtp: { url: string | null; from: string };
  /** Hosted page form posts per IP per 10 minutes (default 30) and per phone number per hour (default 5). */
  pagePostsPerIp?: number;
  pagePostsPerPhone?: number;
  /**
   * Lifetime of an email invitation link (default 7 days), an SMS invitation (30 days), a preference link (30 days).
   */
  emailLinkTtlMs?: number;
  smsInvitationTtlMs?: number;
  preferenceLinkTtlMs?: number;
}

export const DAY_MS = 24 * 3_600_000;
