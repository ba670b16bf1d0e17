/**
 * Checks an opt-in text against the policy before it may be shown to anyone. Each rule is reported on its own,
 * in plain words, so a business sees exactly what to change.
 */
export interface TextCheck {
  rule: 'not_empty' | 'names_business' | 'says_whatsapp' | 'names_message_types' | 'opt_out_instructions';
  passed: boolean;
  message: string;
}

export interface TextCheckInput {
  body: string;
  businessName: string;
  topics: { key: string; name: string }[];
}

// Words that tell a reader how to leave, in the languages Optline ships keyword packs for.
const OPT_OUT_HINTS = [
  'stop',
  'unsubscribe',
  'opt out',
  'opt-out',
  'optout',
  'cancel',
  'baja',
  'parar',
  'cancelar',
  'detener',
  'sair',
  'descadastrar',
  'arret',
  'desabonner',
  'desinscrire',
  'stopp',
  'abmelden',
  'kundigen',
  'annulla',
  'disiscrivi',
  'berhenti',
  'batal',
  'रोकें',
  'बंद',
];

/** Lower case, accents removed, whitespace collapsed: what "mentions X" compares. */
export function foldText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC')
    .toLowerCase()
    .replace(/\s+/g, ' ');
}

export function checkOptInText(input: TextCheckInput): TextCheck[] {
  const body = foldText(input.body);
  const checks: TextCheck[] = [];
  const trimmed = input.body.trim();
  checks.push({
    rule: 'not_empty',
    passed: trimmed.length >= 20,
    message:
      trimmed.length >= 20
        ? 'The text has content.'
        : 'The text is empty or too short to explain anything (at least 20 characters).',
  });
  const name = foldText(input.businessName.trim());
  const namesBusiness = name.length > 0 && body.includes(name);
  checks.push({
    rule: 'names_business',
    passed: namesBusiness,
    message: namesBusiness
      ? `Names the business ("${input.businessName}").`
      : `Does not name the business: it must contain "${input.businessName}" so people know who will message them.`,
  });
  const saysWhatsApp = body.includes('whatsapp');
  checks.push({
    rule: 'says_whatsapp',
    passed: saysWhatsApp,
    message: saysWhatsApp
      ? 'Says the messages come on WhatsApp.'
      : 'Does not say "WhatsApp": people must know the messages will arrive on WhatsApp.',
  });
  const missing = input.topics.filter((t) => !body.includes(foldText(t.name)));
  checks.push({
    rule: 'names_message_types',
    passed: input.topics.length > 0 && missing.length === 0,
    message:
      input.topics.length === 0
        ? 'Covers no topic: say which types of message the person is agreeing to.'
        : missing.length === 0
          ? `Names every type of message (${input.topics.map((t) => t.name).join(', ')}).`
          : `Does not name these types of message: ${missing.map((t) => `"${t.name}"`).join(', ')}. Use each topic's name in the text.`,
  });
  const hint = OPT_OUT_HINTS.find((h) => new RegExp(`(^|[^\\p{L}])${h}([^\\p{L}]|$)`, 'u').test(body));
  checks.push({
    rule: 'opt_out_instructions',
    passed: hint !== undefined,
    message: hint
      ? `Tells people how to opt out (mentions "${hint}").`
      : 'Does not say how to opt out: add an instruction such as "Reply STOP at any time to unsubscribe."',
  });
  return checks;
}

export const textIsUsable = (checks: TextCheck[]): boolean => checks.every((c) => c.passed);
