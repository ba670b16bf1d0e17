import { createBusiness } from './manage-businesses.js';
import { createTopic } from './manage-topics.js';
import { registerText } from './manage-texts.js';
import { createApiKey } from './manage-keys.js';
import type { ServiceContext } from '../context.js';

export interface DemoSeed {
  businessId: string;
  slug: string;
  adminKey: string;
  businessKey: string;
  textHash: string;
}

/**
 * For the laptop default only (`optline start`): on an empty database, a demo business with two utility
 * topics, a checked opt-in text and keys, so the README walkthrough works at once. Production `serve` never
 * seeds anything.
 */
export async function seedDemoIfEmpty(ctx: ServiceContext): Promise<DemoSeed | null> {
  const any = await ctx.database.db.selectFrom('businesses').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  // The sandbox accepts any template; with a real number, set the name of your approved confirmation template.
  const business = await createBusiness(ctx, {
    slug: 'demo',
    displayName: 'Demo Shop',
    policy: { confirmationTemplate: { name: 'optin_confirmation', language: 'en' } },
  });
  await createTopic(ctx, business.id, {
    key: 'delivery',
    name: 'delivery updates',
    category: 'utility',
    description: 'Order shipped, out for delivery, delivered',
  });
  await createTopic(ctx, business.id, {
    key: 'appointments',
    name: 'appointment reminders',
    category: 'utility',
    description: 'Reminders the day before a booked appointment',
  });
  const text = await registerText(ctx, business.id, {
    name: 'default',
    language: 'en',
    topicKeys: ['delivery', 'appointments'],
    body: 'Yes, send me delivery updates and appointment reminders from Demo Shop on WhatsApp. Reply STOP at any time to unsubscribe.',
  });
  const admin = await createApiKey(ctx, { businessId: null, name: 'demo admin' });
  const key = await createApiKey(ctx, { businessId: business.id, name: 'demo' });
  return {
    businessId: business.id,
    slug: business.slug,
    adminKey: admin.key,
    businessKey: key.key,
    textHash: text.hash,
  };
}
