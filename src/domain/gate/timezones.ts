// A recipient's time zone: the one they chose (API, preference page), else the one their number's numbering plan
// gives (`timezoneOfNumber`), else the business's default (decide.ts). BY_COUNTRY is the country's main zone (the
// only one, or the one most of its people live in), used where the plan names several zones for a number.
const BY_COUNTRY: Record<string, string> = {
  GB: 'Europe/London',
  IE: 'Europe/Dublin',
  PT: 'Europe/Lisbon',
  ES: 'Europe/Madrid',
  FR: 'Europe/Paris',
  DE: 'Europe/Berlin',
  IT: 'Europe/Rome',
  NL: 'Europe/Amsterdam',
  BE: 'Europe/Brussels',
  CH: 'Europe/Zurich',
  AT: 'Europe/Vienna',
  PL: 'Europe/Warsaw',
  SE: 'Europe/Stockholm',
  NO: 'Europe/Oslo',
  DK: 'Europe/Copenhagen',
  FI: 'Europe/Helsinki',
  GR: 'Europe/Athens',
  TR: 'Europe/Istanbul',
  IN: 'Asia/Kolkata',
  PK: 'Asia/Karachi',
  BD: 'Asia/Dhaka',
  LK: 'Asia/Colombo',
  NP: 'Asia/Kathmandu',
  AE: 'Asia/Dubai',
  SA: 'Asia/Riyadh',
  EG: 'Africa/Cairo',
  NG: 'Africa/Lagos',
  KE: 'Africa/Nairobi',
  ZA: 'Africa/Johannesburg',
  GH: 'Africa/Accra',
  MA: 'Africa/Casablanca',
  IL: 'Asia/Jerusalem',
  SG: 'Asia/Singapore',
  MY: 'Asia/Kuala_Lumpur',
  PH: 'Asia/Manila',
  TH: 'Asia/Bangkok',
  VN: 'Asia/Ho_Chi_Minh',
  ID: 'Asia/Jakarta',
  JP: 'Asia/Tokyo',
  KR: 'Asia/Seoul',
  HK: 'Asia/Hong_Kong',
  NZ: 'Pacific/Auckland',
  AR: 'America/Argentina/Buenos_Aires',
  CO: 'America/Bogota',
  PE: 'America/Lima',
  CL: 'America/Santiago',
  VE: 'America/Caracas',
  EC: 'America/Guayaquil',
  UY: 'America/Montevideo',
  PY: 'America/Asuncion',
  BO: 'America/La_Paz',
  GT: 'America/Guatemala',
  CR: 'America/Costa_Rica',
  PA: 'America/Panama',
  DO: 'America/Santo_Domingo',
  MX: 'America/Mexico_City',
  BR: 'America/Sao_Paulo',
};

export function timezoneForCountry(country: string | null | undefined): string | null {
  return (country && BY_COUNTRY[country]) || null;
}

export type NumberZone = { timezone: string; source: 'number' | 'country' } | { timezone: null; source: null };

/**
 * The zone to store for a number, from the zones its prefix maps to (lib/phone-timezones.ts): one zone is the
 * number's (+1 212 New York, +1 415 Los Angeles). Several (a country-wide mobile range, +44 7…: London, Guernsey,
 * Isle of Man) give the country's main zone when it is one of them; otherwise (a US toll-free or a Mexican
 * legacy mobile prefix, several zones, none dominant) none is guessed, and the business's default applies.
 * A number the plan does not know gets its country's main zone, as before the plan was read.
 */
export function timezoneOfNumber(zones: readonly string[] | null, country: string | null | undefined): NumberZone {
  if (zones && zones.length === 1) return { timezone: zones[0]!, source: 'number' };
  const main = timezoneForCountry(country);
  if (main && (!zones || zones.length === 0 || zones.includes(main))) return { timezone: main, source: 'country' };
  return { timezone: null, source: null };
}
