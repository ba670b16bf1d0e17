// An in-process SMTP server that accepts everything and keeps what it receives, for mailer tests.
// The MIME parsing is deliberately small: headers (unfolded, RFC 2047 words decoded), and the text/plain
// body with quoted-printable or base64 undone — enough to assert on, not a mail client.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface SinkMessage {
  from: string;
  to: string[];
  raw: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  subject: string;
  text: string;
}

export interface SmtpSink {
  port: number;
  host: '127.0.0.1';
  url: string;
  messages: SinkMessage[];
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function splitHeadBody(raw: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  return m ? { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) } : { head: raw, body: '' };
}

function parseHeaders(head: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Unfold: a line starting with whitespace continues the previous one.
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

function decodeBytes(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function qpToBytes(s: string): Buffer {
  const soft = s.replace(/=\r?\n/g, ''); // soft line breaks
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words (=?charset?B|Q?…?=); whitespace between adjacent words is dropped. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, charset: string, enc: string, text: string) => {
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : qpToBytes(text.replace(/_/g, ' '));
      return decodeBytes(bytes, charset.replace(/\*.*$/, '')); // drop an RFC 2231 language suffix
    });
}

function param(headerValue: string | undefined, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(headerValue ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

function decodePart(headers: Record<string, string>, body: string): string {
  const cte = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const charset = param(headers['content-type'], 'charset') ?? 'utf-8';
  if (cte === 'quoted-printable') return decodeBytes(qpToBytes(body), charset);
  if (cte === 'base64') return decodeBytes(Buffer.from(body.replace(/\s+/g, ''), 'base64'), charset);
  return body;
}

/** The first text/plain part (searching multiparts depth-first), decoded; '' when there is none. */
function plainText(headers: Record<string, string>, body: string): string {
  const type = (headers['content-type'] ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = param(headers['content-type'], 'boundary');
    if (!boundary) return '';
    const parts = body.split(`--${boundary}`).slice(1); // before the first delimiter is the preamble
    for (const part of parts) {
      if (part.startsWith('--')) break; // closing delimiter
      const p = splitHeadBody(part.replace(/^\r?\n/, ''));
      const text = plainText(parseHeaders(p.head), p.body.replace(/\r?\n$/, ''));
      if (text !== '') return text;
    }
    return '';
  }
  return type.startsWith('text/plain') ? decodePart(headers, body) : '';
}

export function parseMessage(raw: string): { headers: Record<string, string>; subject: string; text: string } {
  const { head, body } = splitHeadBody(raw);
  const headers = parseHeaders(head);
  // SMTP ends every line with CRLF; report text with the final line break trimmed.
  return {
    headers,
    subject: decodeEncodedWords(headers['subject'] ?? ''),
    text: plainText(headers, body).replace(/\r?\n$/, ''),
  };
}

export async function startSmtpSink(opts: { port?: number } = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Do not wait the default 30 s for a client's idle pooled connection when the test closes the sink.
    closeTimeout: 200,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const mailFrom = session.envelope.mailFrom;
        messages.push({
          from: mailFrom ? mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parseMessage(raw),
        });
        for (const w of waiters) w();
        callback();
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // smtp-server logs socket errors through 'error' events; without a listener they would crash the test.
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    host: '127.0.0.1',
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor(count, timeoutMs = 5000) {
      if (messages.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`smtp sink: expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
