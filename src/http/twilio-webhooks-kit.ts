import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyTwilioRequest, type TwilioParams } from '../channels/twilio/signature.js';
import { findChannelByExternalId } from '../storage/business/channel-store.js';
import type { ServiceContext } from '../services/context.js';
import type { TwilioSecrets, TwilioSettings } from '../services/capture/configure-channels.js';
import { problem, sendProblem } from './error-handler.js';

const header = (req: FastifyRequest, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
const first = (params: TwilioParams, name: string) => {
  const v = params[name];
  return (Array.isArray(v) ? v[0] : v)?.trim().replace(/^whatsapp:/i, '') ?? '';
};

/**
 * The business a Twilio webhook is for (by the number called or texted, else the Messaging Service), once its
 * signature is proven against the PUBLIC URL Twilio requested (publicUrl + path + query: a proxy in front
 * changes what we see, never what Twilio signed). Unknown number and bad signature get the same 401, so the
 * endpoint tells an outsider nothing about which numbers exist. Null means the reply was sent.
 */
export async function verifiedTwilioBusiness(
  ctx: ServiceContext,
  publicUrl: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<string | null> {
  const params = (req.body ?? {}) as TwilioParams;
  const db = ctx.database;
  let account = await findChannelByExternalId<TwilioSettings, TwilioSecrets>(
    db,
    ctx.keyring,
    'twilio',
    first(params, 'To'),
  );
  const service = first(params, 'MessagingServiceSid');
  if (!account && service)
    account = await findChannelByExternalId<TwilioSettings, TwilioSecrets>(db, ctx.keyring, 'twilio', service);
  const ok =
    account?.secrets != null &&
    first(params, 'AccountSid') === account.settings.accountSid &&
    verifyTwilioRequest({
      authToken: account.secrets.authToken,
      url: `${publicUrl}${req.url}`,
      params,
      signature: header(req, 'x-twilio-signature'),
      contentType: header(req, 'content-type'),
      signatureSettings: header(req, 'x-twilio-webhooks-signature-settings'),
      ...(account.secrets.webhookSharedKeys ? { sharedKeys: account.secrets.webhookSharedKeys } : {}),
    });
  if (!ok || !account) {
    sendProblem(
      reply,
      problem(
        'WEBHOOK_SIGNATURE_INVALID',
        'The X-Twilio-Signature header is missing or does not match this URL and body.',
        req.id,
      ),
    );
    return null;
  }
  return account.businessId;
}
