import { getCountries, getCountryCallingCode, getExampleNumber, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';

export interface CountryOption {
  code: string;
  label: string;
}

const cache = new Map<string, CountryOption[]>();

/** Every country libphonenumber knows, named in the page language (Intl), sorted for that language. */
export function countryOptions(lang: string): CountryOption[] {
  let list = cache.get(lang);
  if (list) return list;
  const names = new Intl.DisplayNames([lang], { type: 'region' });
  const collator = new Intl.Collator(lang);
  list = getCountries()
    .map((code) => ({ code, name: names.of(code) ?? code }))
    .sort((a, b) => collator.compare(a.name, b.name))
    .map(({ code, name }) => ({ code, label: `${name} (+${getCountryCallingCode(code)})` }));
  cache.set(lang, list);
  return list;
}

const KNOWN = new Set<string>(getCountries());
export const isCountry = (c: string | null | undefined): c is CountryCode => typeof c === 'string' && KNOWN.has(c);

/** A mobile number of the country in international format, for hints ("+44 7400 123456"). */
export function exampleNumber(country: string): string {
  if (!isCountry(country)) return '+44 7400 123456';
  return getExampleNumber(country, examples)?.formatInternational() ?? `+${getCountryCallingCode(country)} …`;
}
