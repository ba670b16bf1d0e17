// "Is this host this machine?" — used to relax TLS rules for local development and tests only.
import { isIP } from 'node:net';

/** True for localhost, 127.0.0.0/8 and ::1 (brackets allowed, as URL.hostname gives them). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}
