import type { SmsPort } from '../../services/outbound.js';
import { createTwilioClient } from './client.js';

/** The SMS port over Twilio's Messages API at `apiUrl` (the real one, or the loopback fake in tests and sandbox). */
export function twilioSmsPort(apiUrl: string): SmsPort {
  return {
    async send(account, message) {
      const client = createTwilioClient({
        baseUrl: apiUrl,
        accountSid: account.accountSid,
        authToken: account.authToken,
      });
      const sent = await client.sendMessage({
        to: message.to,
        body: message.body,
        ...(account.from ? { from: account.from } : {}),
        ...(account.messagingServiceSid ? { messagingServiceSid: account.messagingServiceSid } : {}),
      });
      return sent.ok
        ? { ok: true, sid: sent.sid }
        : { ok: false, kind: sent.kind, code: sent.code, message: sent.message, retryable: sent.retryable };
    },
  };
}
