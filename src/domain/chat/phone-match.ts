/**
 * Is the WhatsApp sender the number that was typed? Equal E.164 numbers are; so are the spellings WhatsApp
 * itself uses for the same line in a few countries, where a wa_id can lack a mobile prefix the dialled
 * number has (Brazil's ninth digit, Mexico's "1" and Argentina's "9" after the country code).
 */
export function sameWhatsAppNumber(a: string, b: string): boolean {
  return a === b || canonical(a) === canonical(b);
}

function canonical(e164: string): string {
  const digits = `+${e164.replace(/\D/g, '')}`;
  const br = /^\+55(\d{2})9(\d{8})$/.exec(digits);
  if (br) return `+55${br[1]}${br[2]}`;
  const mx = /^\+521(\d{10})$/.exec(digits);
  if (mx) return `+52${mx[1]}`;
  const ar = /^\+549(\d{10})$/.exec(digits);
  if (ar) return `+54${ar[1]}`;
  return digits;
}
