import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createByteBudget } from '../../src/lib/byte-budget.js';

const tick = () => new Promise((r) => setImmediate(r));

it('a byte budget lets requests in while they fit, queues the rest in order, and frees on release (once)', async () => {
  const b = createByteBudget(100);
  const order: number[] = [];
  const r1 = await b.take(60);
  const p2 = b.take(60).then((rel) => {
    order.push(2);
    return rel;
  });
  const p3 = b.take(10).then((rel) => {
    order.push(3);
    return rel;
  });
  await tick();
  // 3 would fit, but it waits behind 2: first come, first served, so a large request is never starved.
  assert.deepEqual(order, []);
  assert.deepEqual(b.stats(), { used: 60, waiting: 2 });
  r1();
  r1(); // a second release changes nothing
  const r2 = await p2;
  const r3 = await p3;
  assert.deepEqual(order, [2, 3]);
  assert.equal(b.stats().used, 70);
  r2();
  r3();
  assert.deepEqual(b.stats(), { used: 0, waiting: 0 });
});

it('a request larger than the whole budget still runs, alone', async () => {
  const b = createByteBudget(100);
  const big = await b.take(500);
  let small = false;
  const p = b.take(1).then((rel) => {
    small = true;
    return rel;
  });
  await tick();
  assert.equal(small, false);
  big();
  (await p)();
  assert.equal(small, true);
});
