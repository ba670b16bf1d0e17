// A recipient's time zone, told from the country of their number where the country has one zone (or one
// zone most of its people live in). Anything else falls back to the business's default time zone.
const BY_COUNTRY: Record<string, string> = {
  GB: 'Europe/London', IE: 'Europe/Dublin', PT: 'Europe/Lisbon', ES: 'Europe/Madrid', FR: 'Europe/Paris',
  DE: 'Europe/Berlin', IT: 'Europe/Rome', NL: 'Europe/Amsterdam', BE: 'Europe/Brussels', CH: 'Europe/Zurich',
  AT: 'Europe/Vienna', PL: 'Europe/Warsaw', SE: 'Europe/Stockholm', NO: 'Europe/Oslo', DK: 'Europe/Copenhagen',
  FI: 'Europe/Helsinki', GR: 'Europe/Athens', TR: 'Europe/Istanbul', IN: 'Asia/Kolkata', PK: 'Asia/Karachi',
  BD: 'Asia/Dhaka', LK: 'Asia/Colombo', NP: 'Asia/Kathmandu', AE: 'Asia/Dubai', SA: 'Asia/Riyadh',
  EG: 'Africa/Cairo', NG: 'Africa/Lagos', KE: 'Africa/Nairobi', ZA: 'Africa/Johannesburg', GH: 'Africa/Accra',
  MA: 'Africa/Casablanca', IL: 'Asia/Jerusalem', SG: 'Asia/Singapore', MY: 'Asia/Kuala_Lumpur',
  PH: 'Asia/Manila', TH: 'Asia/Bangkok', VN: 'Asia/Ho_Chi_Minh', ID: 'Asia/Jakarta', JP: 'Asia/Tokyo',
  KR: 'Asia/Seoul', HK: 'Asia/Hong_Kong', NZ: 'Pacific/Auckland', AR: 'America/Argentina/Buenos_Aires',
  CO: 'America/Bogota', PE: 'America/Lima', CL: 'America/Santiago', VE: 'America/Caracas', EC: 'America/Guayaquil',
  UY: 'America/Montevideo', PY: 'America/Asuncion', BO: 'America/La_Paz', GT: 'America/Guatemala',
  CR: 'America/Costa_Rica', PA: 'America/Panama', DO: 'America/Santo_Domingo', MX: 'America/Mexico_City',
  BR: 'America/Sao_Paulo',
};

export function timezoneForCountry(country: string | null | undefined): string | null {
  return (country && BY_COUNTRY[country]) || null;
}
