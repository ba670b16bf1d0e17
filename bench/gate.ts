import { recordOptIn } from '../src/services/consent/record-opt-in.js';
import { decideSend } from '../src/services/dispatch/decide-send.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { createTopic } from '../src/services/admin/manage-topics.js';
import { registerText } from '../src/services/admin/manage-texts.js';
import type { Database } from '../src/storage/db.js';
import { benchContext, figure, opsPerSecond, type Figure } from './lib.js';

export const phoneOf = (i: number) => `+4479${String(11000000 + i).padStart(8, '0')}`;

/** A business with `people` opted-in people (half to delivery, all to billing). */
export async function seedPeople(database: Database, people: number) {
  const ctx = benchContext(database);
  const b = await createBusiness(ctx, {
    slug: `gate-${Math.random().toString(36).slice(2, 8)}`,
    displayName: 'Gate Shop',
  });
  await createTopic(ctx, b.id, { key: 'delivery', name: 'delivery updates', category: 'utility' });
  await createTopic(ctx, b.id, { key: 'billing', name: 'billing alerts', category: 'utility' });
  const text = await registerText(ctx, b.id, {
    name: 'd',
    language: 'en',
    topicKeys: ['delivery', 'billing'],
    body: 'Send me delivery updates and billing alerts from Gate Shop on WhatsApp. Reply STOP to opt out.',
  });
  for (let i = 0; i < people; i++) {
    await recordOptIn(ctx, b.id, {
      person: { phone: phoneOf(i) },
      topics: i % 2 ? ['billing'] : ['delivery', 'billing'],
      channel: 'web',
      action: 'checked_box',
      textHash: text.hash,
      evidence: { ip: '203.0.113.1', userAgent: 'bench', pageUrl: 'https://x.example' },
      actor: 'bench',
    });
  }
  return { ctx, businessId: b.id, textHash: text.hash };
}

/** In-process gate decisions/s against raw point reads of the same people rows, on the same database. */
export async function benchGate(database: Database, ms: number): Promise<Figure> {
  const people = 2000;
  const { ctx, businessId } = await seedPeople(database, people);
  // SQLite is synchronous: one caller at a time. PostgreSQL is measured with 4 callers in flight, floor and value
  // alike.
  const conc = database.sqlite ? 1 : 4;
  const decide = await opsPerSecond(
    (i) => decideSend(ctx, businessId, { person: { phone: phoneOf(i % people) }, topic: 'delivery' }),
    ms,
    conc,
  );
  let floor: number;
  let floorName: string;
  if (database.sqlite) {
    const stmt = database.sqlite.prepare('SELECT * FROM people WHERE business_id = ? AND phone_e164 = ?');
    floorName = 'raw better-sqlite3 point read (prepared)';
    floor = await opsPerSecond((i) => stmt.get(businessId, phoneOf(i % people)), ms);
  } else {
    const pool = database.pool!;
    floorName = 'raw pg point read (pool.query, 4 in flight)';
    floor = await opsPerSecond(
      (i) =>
        pool.query('SELECT * FROM people WHERE business_id = $1 AND phone_e164 = $2', [
          businessId,
          phoneOf(i % people),
        ]),
      ms,
      conc,
    );
  }
  return figure({
    name: 'gate decisions (in-process)',
    dialect: database.dialect,
    value: Math.round(decide),
    unit: 'decisions/s',
    floorName,
    floor: Math.round(floor),
    target: 'ratio ≥ 0.5',
    targetRatio: 0.5,
  });
}
