import twilio from 'twilio';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { PUBLIC_URL } from '../../helpers/capture.js';
import { form } from '../../helpers/capture.js';

export const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
export const AUTH_TOKEN = 'twilio-auth-token-for-tests-0001';
export const TWILIO_NUMBER = '+14155550199';

// A Twilio number belongs to one business: each configured business gets its own, and webhooks go to the last one.
let numberSeq = 0;
let currentNumber = TWILIO_NUMBER;
export const twilioNumber = () => currentNumber;

let sid = 0;
export const nextSid = (prefix: 'SM' | 'CA') => `${prefix}${String(++sid).padStart(32, '0')}`;

/**
 * POSTs a webhook the way Twilio does: form-encoded, signed by Twilio's own library for the PUBLIC URL (what
 * Twilio was configured with), while the request reaches the app under its internal address.
 */
export function twilioPost(
  app: FastifyInstance,
  pathAndQuery: string,
  params: Record<string, string>,
  opts: { token?: string; signature?: string; signedUrl?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  const signature =
    opts.signature ??
    twilio.getExpectedTwilioSignature(
      opts.token ?? AUTH_TOKEN,
      opts.signedUrl ?? `${PUBLIC_URL}${pathAndQuery}`,
      params,
    );
  return app.inject({
    method: 'POST',
    url: pathAndQuery,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': signature,
      host: '10.0.0.5:8080',
      ...opts.headers,
    },
    payload: form(params),
  });
}

export const sms = (from: string, body: string, extra: Record<string, string> = {}) => ({
  MessageSid: nextSid('SM'),
  AccountSid: ACCOUNT_SID,
  From: from,
  To: currentNumber,
  Body: body,
  NumMedia: '0',
  SmsStatus: 'received',
  ApiVersion: '2010-04-01',
  ...extra,
});

export const call = (from: string, extra: Record<string, string> = {}) => ({
  CallSid: nextSid('CA'),
  AccountSid: ACCOUNT_SID,
  From: from,
  To: currentNumber,
  CallStatus: 'in-progress',
  Direction: 'inbound',
  ApiVersion: '2010-04-01',
  ...extra,
});

export async function configureTwilioChannel(
  app: FastifyInstance,
  apiKey: string,
  extra: Record<string, unknown> = {},
) {
  currentNumber = `+1628555${String(1000 + ++numberSeq).slice(-4)}`;
  const r = await app.inject({
    method: 'PUT',
    url: '/v1/channels/twilio',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: currentNumber, ...extra },
  });
  if (r.statusCode !== 200) throw new Error(`twilio channel: ${r.statusCode} ${r.body}`);
  return r.json();
}
