import type { Logger } from '../../lib/logger.js';
import type { MailPort } from '../../services/outbound.js';
import { createMailer, type Mailer } from './mailer.js';
import { oneClickUnsubscribeHeaders } from './unsubscribe-headers.js';

/** The mail port over SMTP: one pooled transport per server and From address, closed with the port. */
export function smtpMailPort(logger: Logger): MailPort {
  const mailers = new Map<string, Mailer>();
  const mailer = (url: string, from: string) => {
    const key = `${url}\n${from}`;
    let m = mailers.get(key);
    if (!m) {
      m = createMailer({ url, from });
      mailers.set(key, m);
    }
    return m;
  };
  return {
    async send(server, mail) {
      let headers: Record<string, string> = {};
      if (mail.unsubscribeUrl) {
        try {
          headers = oneClickUnsubscribeHeaders(mail.unsubscribeUrl);
        } catch (e) {
          // RFC 8058 needs https; an http public URL (other than loopback) keeps the link in the body only.
          logger.warn({ err: e }, 'one-click unsubscribe headers left out: OPTLINE_PUBLIC_URL is not https');
        }
      }
      return mailer(server.url, server.from).send({
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        headers,
        ...(mail.html === undefined ? {} : { html: mail.html }),
      });
    },
    close() {
      for (const m of mailers.values()) m.close();
      mailers.clear();
    },
  };
}
