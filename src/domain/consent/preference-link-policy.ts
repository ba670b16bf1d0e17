/**
 * Where a business puts the person's preference link (a signed link to the hosted preference page): in the
 * opt-in confirmation, as a line of the free-form text inside the window and, outside it, as one body parameter
 * of the confirmation template (`templateParam`, 1-based; the template's first two are the business and the
 * topics); and in the chat's automatic replies to the keyword kinds listed in `inKeywordReplies` (STOP, START,
 * HELP), as their last line. `baseUrl` is where people reach Optline's pages (normally OPTLINE_PUBLIC_URL).
 */
export interface PreferenceLinkPolicy {
  baseUrl: string;
  inConfirmation: boolean;
  templateParam?: number | null;
  inKeywordReplies?: ('opt_out' | 'opt_in' | 'help')[];
}

export function preferenceLinkProblems(
  p: PreferenceLinkPolicy | null | undefined,
): { field: string; message: string }[] {
  if (!p) return [];
  const problems: { field: string; message: string }[] = [];
  let ok = false;
  try {
    const u = new URL(p.baseUrl);
    ok = (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash;
  } catch {
    ok = false;
  }
  if (!ok)
    problems.push({
      field: 'policy.preferenceLink.baseUrl',
      message: 'must be an http(s) URL without query or fragment, such as https://consent.example.com',
    });
  const n = p.templateParam;
  if (n !== undefined && n !== null && !(Number.isInteger(n) && n >= 3 && n <= 10)) {
    problems.push({
      field: 'policy.preferenceLink.templateParam',
      message: 'must be a whole number from 3 to 10 (1 and 2 are the business and the topics)',
    });
  }
  return problems;
}

/** The link a message carries: the base URL and the page's path. */
export const preferenceUrl = (p: PreferenceLinkPolicy, path: string) => `${p.baseUrl.replace(/\/+$/, '')}${path}`;
