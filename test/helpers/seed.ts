import type { ServiceContext } from '../../src/services/context.js';
import { createBusiness } from '../../src/services/admin/manage-businesses.js';
import { createTopic } from '../../src/services/admin/manage-topics.js';
import { registerText } from '../../src/services/admin/manage-texts.js';
import { createApiKey } from '../../src/services/admin/manage-keys.js';
import type { BusinessPolicy } from '../../src/domain/gate/policy.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import type { PersonRefInput } from '../../src/services/consent/person-ref.js';

let n = 0;

/** A business with two utility topics, a usable opt-in text covering both, and an API key. */
export async function seedBusiness(
  ctx: ServiceContext,
  opts: { name?: string; policy?: Partial<BusinessPolicy> } = {},
) {
  n += 1;
  const name = opts.name ?? `Acme ${n}`;
  const business = await createBusiness(ctx, {
    slug: `acme-${n}-${Math.random().toString(36).slice(2, 8)}`,
    displayName: name,
    policy: opts.policy,
  });
  const delivery = await createTopic(ctx, business.id, {
    key: 'delivery',
    name: 'delivery updates',
    category: 'utility',
  });
  const billing = await createTopic(ctx, business.id, { key: 'billing', name: 'billing alerts', category: 'utility' });
  const text = await registerText(ctx, business.id, {
    name: 'default',
    language: 'en',
    body: `Yes, send me delivery updates and billing alerts from ${name} on WhatsApp. Reply STOP at any time to opt out.`,
    topicKeys: ['delivery', 'billing'],
  });
  const key = await createApiKey(ctx, { businessId: business.id, name: 'test' });
  return { business, topics: { delivery, billing }, text, apiKey: key.key };
}

export const webEvidence = {
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (test)',
  pageUrl: 'https://acme.example/opt-in',
};

/**
 * The usual test opt-in: the person ticked the box on the business's web page, under its registered text. Returns
 * what recordOptIn returns.
 */
export function webOptIn(
  ctx: ServiceContext,
  businessId: string,
  textHash: string,
  person: PersonRefInput,
  topics: string[] = ['delivery'],
) {
  return recordOptIn(ctx, businessId, {
    person,
    topics,
    channel: 'web',
    action: 'checked_box',
    textHash,
    evidence: webEvidence,
    actor: 't',
  });
}
