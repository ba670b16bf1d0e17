// RFC 8058 one-click unsubscribe headers. Mailbox providers (Gmail, Yahoo) require them on bulk mail and
// POST "List-Unsubscribe=One-Click" to the https URL; RFC 8058 requires that URL to be HTTPS.
import { isLoopbackHost } from './loopback.js';

// A type alias, not an interface, so it can be passed where Record<string, string> headers are expected.
export type OneClickUnsubscribeHeaders = {
  'List-Unsubscribe': string;
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click';
};

// RFC 2369: URIs sit in angle brackets separated by commas, so a literal comma inside one must be escaped.
// Any whitespace or bracket would break the header, and CR/LF would inject new headers.
function bracketed(uri: string): string {
  if (/[\s<>]/.test(uri)) throw new Error(`unsubscribe URI must not contain whitespace or angle brackets: ${uri}`);
  return `<${uri.replace(/,/g, '%2C')}>`;
}

/**
 * @param url https URL that unsubscribes on POST without further interaction (http only for loopback hosts,
 *   for local testing).
 * @param mailto optional address ("list@example.com" or "mailto:list@example.com") offered as a fallback.
 * @throws Error when the URL is not absolute https, or the mailto is malformed.
 */
export function oneClickUnsubscribeHeaders(url: string, mailto?: string): OneClickUnsubscribeHeaders {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`List-Unsubscribe URL is not an absolute URL: ${url}`);
  }
  const https = parsed.protocol === 'https:';
  const localHttp = parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
  if (!https && !localHttp) {
    throw new Error(`List-Unsubscribe URL must use https (RFC 8058); http is allowed only for loopback hosts: ${url}`);
  }
  // href is the normalised form: spaces and brackets in path or query are percent-encoded by now.
  let value = bracketed(parsed.href);
  if (mailto !== undefined) {
    const uri = /^mailto:/i.test(mailto) ? mailto : `mailto:${mailto}`;
    if (!/^mailto:[^@\s<>,]+@[^@\s<>,?]+(\?[^\s<>]*)?$/i.test(uri)) {
      throw new Error(`List-Unsubscribe mailto is not an email address: ${mailto}`);
    }
    value += `, ${bracketed(uri)}`;
  }
  return { 'List-Unsubscribe': value, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}
