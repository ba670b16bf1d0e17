// Outbound email (opt-in confirmations, preference links) over SMTP with nodemailer's pooled transport.
// Every SMTP failure comes back as a value: 4xx replies and connection problems are worth retrying,
// 5xx replies are final.
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { isLoopbackHost } from './loopback.js';

export interface MailerOptions {
  /** smtp://user:pass@host:port (STARTTLS when offered) or smtps://… (TLS from the start). */
  url?: string;
  /** Envelope and header sender, e.g. "Acme <alerts@acme.example>". */
  from: string;
  /** Extra nodemailer SMTP options; override what `url` sets. The transport is always pooled. */
  transport?: Omit<SMTPPool.Options, 'pool'>;
}

export interface MailInput {
  to: string;
  subject: string;
  text: string;
  html?: string;
  headers?: Record<string, string>;
}

export type SendMailResult = { ok: true; messageId: string } | { ok: false; retryable: boolean; message: string };

export interface Mailer {
  send(mail: MailInput): Promise<SendMailResult>;
  /** True when the server accepts a connection (and the credentials, if any). */
  verify(): Promise<boolean>;
  close(): void;
}

/** Transport options from an smtp:// or smtps:// URL. */
export function smtpOptionsFromUrl(url: string): Omit<SMTPPool.Options, 'pool'> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('SMTP URL is not a valid URL (expected smtp://user:pass@host:port or smtps://…)');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw new Error(`SMTP URL must start with smtp:// or smtps://, got ${u.protocol}//`);
  }
  const secure = u.protocol === 'smtps:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const opts: Omit<SMTPPool.Options, 'pool'> = {
    host,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    // A local sink (tests, `optline simulate`) speaks plain SMTP; never attempt STARTTLS against it.
    ignoreTLS: !secure && isLoopbackHost(host),
    // Fail fast enough that a dead server shows up as a retryable error, not a stuck worker.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
  if (u.username) {
    opts.auth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
  }
  return opts;
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** 4xx SMTP replies are temporary by definition (RFC 5321 §4.2.1); with no reply it was the connection. */
export function isRetryableSmtpError(err: SmtpError): boolean {
  if (typeof err.responseCode === 'number') return err.responseCode >= 400 && err.responseCode < 500;
  // No SMTP reply: a network or TLS problem is worth retrying; a malformed message or envelope is not.
  return !['EENVELOPE', 'EMESSAGE', 'EAUTH', 'ECONFIG', 'EPROTOCOL'].includes(err.code ?? '');
}

export function createMailer(opts: MailerOptions): Mailer {
  if (!opts.url && !opts.transport) throw new Error('createMailer needs an SMTP url or transport options');
  const base = opts.url ? smtpOptionsFromUrl(opts.url) : {};
  const transporter = nodemailer.createTransport({ ...base, ...opts.transport, pool: true });

  return {
    async send(mail) {
      try {
        const info = await transporter.sendMail({
          from: opts.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html === undefined ? {} : { html: mail.html }),
          ...(mail.headers === undefined ? {} : { headers: mail.headers }),
        });
        return { ok: true, messageId: String(info.messageId) };
      } catch (e) {
        const err = (e ?? {}) as SmtpError;
        return { ok: false, retryable: isRetryableSmtpError(err), message: err.response ?? err.message ?? String(e) };
      }
    },
    async verify() {
      try {
        return (await transporter.verify()) === true;
      } catch {
        return false;
      }
    },
    close() {
      transporter.close();
    },
  };
}
