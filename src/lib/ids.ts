import { randomBytes } from 'node:crypto';

// Crockford base32: sortable, case-insensitive, no ambiguous letters.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Type-prefixed, time-sortable ids (`evt_01hx…`). The first 10 characters encode the creation time in ms so
 * that ordering by id approximates ordering by creation, which makes cursor pagination by id stable and cheap.
 */
export function newId(prefix: string, nowMs: number = Date.now()): string {
  let t = nowMs;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = take10();
  let rand = '';
  for (let i = 0; i < 16; i++) {
    // 10 bytes = 80 bits = 16 base32 digits
    const bit = i * 5;
    const byte = bit >> 3;
    const shift = bit & 7;
    const v = ((rnd[byte]! << 8) | (rnd[byte + 1] ?? 0)) >> (11 - shift);
    rand += ALPHABET[v & 31];
  }
  return `${prefix}_${time}${rand}`;
}

export const ID_PATTERN = '^[a-z]{2,4}_[0-9a-z]{26}$';

// crypto.randomBytes costs microseconds per call; ids are made by the million on import, so random bytes are
// drawn in blocks and handed out ten at a time (still from the CSPRNG, never reused).
const BLOCK = 10 * 1024;
let pool = Buffer.alloc(0);
let offset = BLOCK;
function take10(): Buffer {
  if (offset + 10 > pool.length) {
    pool = randomBytes(BLOCK);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 10);
  offset += 10;
  return b;
}
