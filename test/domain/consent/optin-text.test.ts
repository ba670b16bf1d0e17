import { it } from 'node:test';
import assert from 'node:assert/strict';
import { checkOptInText, textIsUsable } from '../../../src/domain/consent/optin-text.js';

const topics = [
  { key: 'delivery', name: 'delivery updates' },
  { key: 'billing', name: 'billing alerts' },
];
const failed = (body: string, businessName = 'Café Rosa') =>
  checkOptInText({ body, businessName, topics })
    .filter((c) => !c.passed)
    .map((c) => c.rule);

it('a complete text passes every rule', () => {
  const checks = checkOptInText({
    body: 'Send me delivery updates and billing alerts from Café Rosa on WhatsApp. Reply STOP to opt out.',
    businessName: 'Café Rosa',
    topics,
  });
  assert.ok(textIsUsable(checks), JSON.stringify(checks));
});
it('each missing element is reported on its own, in plain words', () => {
  assert.deepEqual(failed('Send me delivery updates and billing alerts on WhatsApp. Reply STOP to opt out.'), [
    'names_business',
  ]);
  assert.deepEqual(failed('Send me delivery updates and billing alerts from Café Rosa. Reply STOP to opt out.'), [
    'says_whatsapp',
  ]);
  assert.deepEqual(failed('Send me delivery updates from Café Rosa on WhatsApp. Reply STOP to opt out.'), [
    'names_message_types',
  ]);
  assert.deepEqual(failed('Send me delivery updates and billing alerts from Café Rosa on WhatsApp.'), [
    'opt_out_instructions',
  ]);
  const c = checkOptInText({
    body: 'Send me delivery updates from Café Rosa on WhatsApp. Reply STOP to opt out.',
    businessName: 'Café Rosa',
    topics,
  });
  assert.match(c.find((x) => x.rule === 'names_message_types')!.message, /"billing alerts"/);
});
it('matches regardless of case and accents, and in other languages', () => {
  assert.deepEqual(
    failed(
      'Quiero recibir DELIVERY UPDATES y billing alerts de cafe rosa por whatsapp. Responde BAJA para darte de baja.',
    ),
    [],
  );
  assert.deepEqual(failed('tiny'), [
    'not_empty',
    'names_business',
    'says_whatsapp',
    'names_message_types',
    'opt_out_instructions',
  ]);
});
it('does not take "stopwatch" for an opt-out instruction', () => {
  assert.deepEqual(
    failed('Send me delivery updates and billing alerts from Café Rosa on WhatsApp, with a free stopwatch.'),
    ['opt_out_instructions'],
  );
});
