import { randomBytes } from 'node:crypto';
import type { Keyring } from './crypto.js';

// Crockford base32 without I, L, O, U: nothing a person could misread when typing the code by hand.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The code as people see it: "OL-7K3Q-9M2P" (40 random bits). */
export function newOwnershipCode(): string {
  const bytes = randomBytes(8);
  let s = '';
  for (let i = 0; i < 8; i++) s += ALPHABET[bytes[i]! % 32];
  return `OL-${s.slice(0, 4)}-${s.slice(4)}`;
}

// "OL-7K3Q-9M2P", "ol 7k3q9m2p", "OL7K3Q9M2P" inside any message; I, L and O typed by hand read as 1, 1, 0.
const CODE_IN_TEXT = /(?:^|[^A-Za-z0-9])OL[\s-]?([0-9A-Za-z]{4})[\s-]?([0-9A-Za-z]{4})(?![A-Za-z0-9])/i;

/** The canonical code found in a message, or null when the message holds none. */
export function findOwnershipCode(text: string): string | null {
  const m = CODE_IN_TEXT.exec(text.normalize('NFKC'));
  if (!m) return null;
  const raw = `${m[1]}${m[2]}`.toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0');
  if (/[^0-9A-HJKMNP-TV-Z]/.test(raw)) return null;
  return `OL-${raw.slice(0, 4)}-${raw.slice(4)}`;
}

/** Codes are stored only as a keyed hash, scoped to the business. */
export const ownershipCodeHash = (keyring: Keyring, businessId: string, code: string) =>
  keyring.sign(`ownership-code:${businessId}:${code}`);
