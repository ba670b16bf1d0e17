import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textRefusal, topicsRefusal, type RuleTopic } from '../../../src/domain/consent/opt-in-rules.js';

const topics = new Map<string, RuleTopic>([
  ['delivery', { key: 'delivery', category: 'utility', archivedAt: null }],
  ['old', { key: 'old', category: 'utility', archivedAt: 1 }],
  ['promo', { key: 'promo', category: 'marketing', archivedAt: null }],
]);
const find = (k: string) => topics.get(k);

test('topics: unknown first, then archived, then a category the policy does not allow; else none', () => {
  assert.equal(topicsRefusal(['delivery'], find, ['utility']), null);
  assert.equal(topicsRefusal(['nope', 'old'], find, ['utility'])?.code, 'UNKNOWN_TOPIC');
  assert.match(topicsRefusal(['nope'], find, ['utility'])!.message, /nope/);
  assert.equal(topicsRefusal(['old', 'promo'], find, ['utility'])?.code, 'TOPIC_ARCHIVED');
  const cat = topicsRefusal(['delivery', 'promo'], find, ['utility']);
  assert.equal(cat?.code, 'CATEGORY_NOT_ALLOWED');
  assert.match(cat!.message, /promo \(marketing\)/);
  assert.equal(topicsRefusal(['promo'], find, ['utility', 'marketing']), null);
});

test('text: registered, usable, covering every topic', () => {
  const covers = (keys: string[]) => (k: string) => keys.includes(k);
  assert.equal(textRefusal(null, ['delivery'])?.code, 'UNKNOWN_TEXT');
  assert.equal(textRefusal({ usable: false, covers: covers(['delivery']) }, ['delivery'])?.code, 'TEXT_CHECK_FAILED');
  const miss = textRefusal({ usable: true, covers: covers(['delivery']) }, ['delivery', 'promo']);
  assert.equal(miss?.code, 'TEXT_TOPICS_MISMATCH');
  assert.match(miss!.message, /promo/);
  assert.equal(textRefusal({ usable: true, covers: covers(['delivery']) }, ['delivery']), null);
});
