import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseCaches, KeyCache } from '../../src/storage/caches.js';

test('a key is remembered until its expiry, and only while the watch trusts the cache', () => {
  const c = new KeyCache<{ keyId: string }>(1000);
  c.set('h1', { keyId: 'k1' }, c.generation, 0);
  assert.deepEqual(c.get('h1', 999), { keyId: 'k1' });
  assert.equal(c.get('h1', 1000), undefined, 'expired');
  c.trusted = () => false;
  assert.equal(c.get('h1', 10), undefined, 'not trusted: looked up again');
});

test('a lookup begun before a drop is not remembered after it', () => {
  const c = new KeyCache<{ keyId: string }>(1000);
  const began = c.generation;
  c.dropAll();
  c.set('h1', { keyId: 'k1' }, began, 0);
  assert.equal(c.get('h1', 1), undefined);
  c.set('h2', { keyId: 'k2' }, c.generation, 0);
  c.set('h3', { keyId: 'k3' }, c.generation, 0);
  c.drop('k2');
  assert.equal(c.get('h2', 1), undefined, 'revoked through this process');
  assert.deepEqual(c.get('h3', 1), { keyId: 'k3' }, 'the other keys stay');
});

test('each database handle has its own caches and bound helpers', () => {
  const a = new DatabaseCaches();
  const b = new DatabaseCaches();
  const name = Symbol('helper');
  let made = 0;
  const ha = a.bind(name, () => ({ n: ++made }));
  assert.equal(
    a.bind(name, () => ({ n: ++made })),
    ha,
    'made once per handle',
  );
  assert.notEqual(
    b.bind(name, () => ({ n: ++made })),
    ha,
  );
  assert.equal(made, 2);
  assert.equal(new DatabaseCaches().peek(name), undefined);
  assert.notEqual(a.businesses, b.businesses);
});
