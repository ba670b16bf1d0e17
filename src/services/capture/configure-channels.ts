import { fail } from '../../domain/errors.js';
import { normalisePhone } from '../../lib/phone.js';
import { isUniqueViolation } from '../../storage/db.js';
import { getChannelAccount, upsertChannelAccount } from '../../storage/business/channel-store.js';
import {
  getCaptureSettings,
  putCaptureSettings,
  type CaptureSettings,
} from '../../storage/capture/capture-settings-store.js';
import { smtpOptionsFromUrl } from '../../channels/smtp/mailer.js';
import type { ServiceContext } from '../context.js';

/** Non-secret settings of a business's Twilio account (SMS invitations, SMS STOP, IVR). */
export interface TwilioSettings {
  accountSid: string;
  /** The business's Twilio number: SMS sender, and where SMS replies and calls arrive. */
  from: string | null;
  messagingServiceSid: string | null;
}
/** Sealed under the master key; never returned. */
export interface TwilioSecrets {
  authToken: string;
  /** Webhook Rules (SHA-256 signatures): key id -> SharedKey. */
  webhookSharedKeys?: Record<string, string>;
}
export interface SmtpSettings {
  from: string;
}
export interface SmtpSecrets {
  url: string;
}

export async function configureTwilio(
  ctx: ServiceContext,
  businessId: string,
  input: {
    accountSid: string;
    authToken: string;
    from?: string;
    messagingServiceSid?: string;
    webhookSharedKeys?: Record<string, string>;
  },
): Promise<TwilioSettings> {
  if (!input.from && !input.messagingServiceSid)
    fail('VALIDATION_FAILED', 'Give from (the Twilio number) or messagingServiceSid.', 'from');
  let from: string | null = null;
  if (input.from) {
    const p = normalisePhone(input.from);
    if (!p.ok) return fail('INVALID_PHONE', `"${input.from}" is not a usable phone number: ${p.reason}.`, 'from');
    from = p.e164;
  }
  const settings: TwilioSettings = {
    accountSid: input.accountSid,
    from,
    messagingServiceSid: input.messagingServiceSid ?? null,
  };
  const secrets: TwilioSecrets = {
    authToken: input.authToken,
    ...(input.webhookSharedKeys ? { webhookSharedKeys: input.webhookSharedKeys } : {}),
  };
  try {
    // Inbound SMS and calls are routed to the business by this id: the number, else the Messaging Service.
    await upsertChannelAccount(
      ctx.database,
      ctx.keyring,
      { businessId, provider: 'twilio', externalId: from ?? settings.messagingServiceSid, settings, secrets },
      ctx.clock.now(),
    );
  } catch (e) {
    if (isUniqueViolation(e))
      fail(
        'CONFLICT',
        'Another business already uses this Twilio number or Messaging Service.',
        from ? 'from' : 'messagingServiceSid',
      );
    throw e;
  }
  return settings;
}

export async function configureSmtp(
  ctx: ServiceContext,
  businessId: string,
  input: { url: string; from: string },
): Promise<SmtpSettings> {
  try {
    smtpOptionsFromUrl(input.url);
  } catch (e) {
    fail('VALIDATION_FAILED', (e as Error).message, 'url');
  }
  await upsertChannelAccount(
    ctx.database,
    ctx.keyring,
    { businessId, provider: 'smtp', externalId: null, settings: { from: input.from }, secrets: { url: input.url } },
    ctx.clock.now(),
  );
  return { from: input.from };
}

export async function getTwilioSettings(ctx: ServiceContext, businessId: string): Promise<TwilioSettings | null> {
  return (
    (await getChannelAccount<TwilioSettings, TwilioSecrets>(ctx.database.db, ctx.keyring, businessId, 'twilio'))
      ?.settings ?? null
  );
}

export async function readCaptureSettings(ctx: ServiceContext, businessId: string): Promise<CaptureSettings> {
  return getCaptureSettings(ctx.database.db, businessId);
}

export async function updateCaptureSettings(
  ctx: ServiceContext,
  businessId: string,
  patch: Partial<CaptureSettings>,
): Promise<CaptureSettings> {
  const current = await getCaptureSettings(ctx.database.db, businessId);
  const next = { ...current, ...patch };
  if (next.whatsappNumber) {
    const p = normalisePhone(next.whatsappNumber);
    if (!p.ok)
      return fail(
        'INVALID_PHONE',
        `"${next.whatsappNumber}" is not a usable phone number: ${p.reason}.`,
        'whatsappNumber',
      );
    next.whatsappNumber = p.e164;
  }
  await putCaptureSettings(ctx.database.db, businessId, next, ctx.clock.now());
  return next;
}
