import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Where a webhook may go. The one home of the SSRF rule, asked at registration and again before every
 * delivery (DNS can change): https or http only, no credentials in the URL, and every address the host
 * resolves to must be public unless private targets are explicitly allowed (OPTLINE_WEBHOOKS_ALLOW_PRIVATE).
 * Returns the reason it is refused, or null.
 */
export async function refuseTarget(url: string, allowPrivate: boolean): Promise<string | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid absolute URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'only http and https URLs are allowed';
  if (u.username || u.password) return 'credentials in the URL are not allowed';
  if (allowPrivate) return null;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  let addrs: string[];
  if (isIP(host)) addrs = [host];
  else {
    try {
      addrs = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return `the host ${host} does not resolve`;
    }
  }
  for (const a of addrs)
    if (isPrivateAddress(a)) return `the host resolves to a private, loopback or link-local address (${a})`;
  return null;
}

export function isPrivateAddress(a: string): boolean {
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number) as [number, number];
    return (
      x === 0 ||
      x === 10 ||
      x === 127 ||
      (x === 100 && y >= 64 && y <= 127) ||
      (x === 169 && y === 254) ||
      (x === 172 && y >= 16 && y <= 31) ||
      (x === 192 && y === 168) ||
      (x === 198 && (y === 18 || y === 19)) ||
      x >= 224
    );
  }
  const l = a.toLowerCase();
  if (l.startsWith('::ffff:')) return isPrivateAddress(l.slice(7));
  return (
    l === '::' ||
    l === '::1' ||
    l.startsWith('fc') ||
    l.startsWith('fd') ||
    l.startsWith('fe8') ||
    l.startsWith('fe9') ||
    l.startsWith('fea') ||
    l.startsWith('feb') ||
    l.startsWith('ff')
  );
}
