import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Headers of every hosted page. No script runs on the pages (they work without JavaScript by design), so the
 * policy allows none, except the embed variant's one same-origin script that reports its height to the widget. Framing
 * is refused except for the embed variant, which any site may frame: see
 * docs/channels.md for that trade-off.
 */
export function setPageHeaders(reply: FastifyReply, opts: { embed: boolean }): void {
  const ancestors = opts.embed ? '*' : "'none'";
  reply.header(
    'content-security-policy',
    `default-src 'none'; ${opts.embed ? "script-src 'self'; " : ''}style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors ${ancestors}`,
  );
  if (!opts.embed) reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  // Preference and invitation links carry their token in the URL: never send it to another site. Not
  // "no-referrer": with it browsers send "Origin: null" on our own form posts, defeating the origin check.
  reply.header('referrer-policy', 'same-origin');
  reply.header('cache-control', 'no-store');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), interest-cohort=()');
}

const originOf = (url: string): string | null => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

/**
 * A form POST must come from our own pages. Browsers send Origin on every form POST (and Sec-Fetch-Site);
 * either naming another site refuses the request. "Our origin" is the public URL, or the Host the request
 * came to (a deployment reached under several names). A request with neither header (an old browser, a script)
 * still needs the signed form token.
 */
export function isSameOriginPost(req: FastifyRequest, publicUrl: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  // An opaque origin (privacy settings, sandboxed frames): only the browser's own same-origin word will do.
  if (origin === 'null') return site === 'same-origin';
  const allowed = new Set([originOf(publicUrl)]);
  const host = req.headers.host;
  if (host) {
    allowed.add(`http://${host}`);
    allowed.add(`https://${host}`);
  }
  return allowed.has(originOf(origin));
}
