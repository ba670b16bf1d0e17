// The URL strings a Twilio signature may have been computed over.
//
// Twilio signs the URL exactly as it requested it, but what reaches us has often been rewritten by a
// proxy or TLS terminator (":443" added or dropped, characters percent-encoded). Twilio's own Node
// library therefore accepts a signature that matches any of a small, fixed set of spellings of the same
// URL; we try the same set so that anything twilio-node accepts, we accept too. Every candidate still
// needs a valid HMAC under the secret, so the set widens no trust: it only tolerates re-spellings.
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';

interface UrlParts {
  scheme: string; // "https://"
  userInfo: string; // "user:pass@" or ""
  host: string;
  port: string; // ":8443" or ""
  rest: string; // path, query and fragment, untouched
}

// Split without `new URL()`, which would normalise the very characters Twilio signed.
function splitUrl(url: string): UrlParts | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!m) return null;
  const prefix = m[0];
  const scheme = m[1] ?? '';
  const authority = m[2] ?? '';
  const at = authority.lastIndexOf('@');
  const hostPort = authority.slice(at + 1);
  // In an IPv6 literal ("[::1]:8080") only a colon after the closing bracket starts the port.
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, at + 1),
    host: colon === -1 ? hostPort : hostPort.slice(0, colon),
    port: colon === -1 ? '' : hostPort.slice(colon),
    rest: url.slice(prefix.length),
  };
}

/** The URL with any explicit port removed (what twilio-node and twilio-python both try). */
export function withoutPort(url: string): string {
  const p = splitUrl(url);
  return p ? p.scheme + p.userInfo + p.host + p.rest : url;
}

/** The URL with the scheme's default port (https 443, otherwise 80) added when it has none. */
export function withDefaultPort(url: string): string {
  const p = splitUrl(url);
  if (!p || p.port) return url;
  const port = p.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return p.scheme + p.userInfo + p.host + port + p.rest;
}

// Some back ends signed the query string as Node's legacy `querystring` re-encodes it.
function withLegacyQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1 || q === url.length - 1) return url;
  return url.slice(0, q) + '?' + stringifyQuery(parseQuery(url.slice(q + 1)));
}

/**
 * Candidate spellings, most likely first: as received (with and without port), then as WHATWG-normalised,
 * then with the legacy query encoding. Duplicates removed. Never throws.
 */
export function urlCandidates(url: string): string[] {
  const out = [url, withoutPort(url), withDefaultPort(url)];
  let normalised: string | undefined;
  try {
    normalised = new URL(url).toString();
  } catch {
    normalised = undefined; // not an absolute URL: only the spellings above can match
  }
  if (normalised !== undefined) {
    const a = withoutPort(normalised);
    const b = withDefaultPort(normalised);
    out.push(a, b, withLegacyQuery(a), withLegacyQuery(b));
  }
  return [...new Set(out)];
}
