import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer, RECOVERY_MS, SLOWDOWN_PAUSE_MS } from '../../../src/worker/dispatch/pacer.js';

const N = 'pn1';

/**
 * Simulates the worker: every `stepMs` a claim round reserves what the pacer has room for within the claim
 * horizon, and each message then waits for its slot. Returns the send times before `ms`.
 */
function simulate(p: Pacer, rate: number, ms: number, stepMs = 1, horizonMs = 250): number[] {
  const sends: number[] = [];
  for (let now = 0; now < ms; now += stepMs) {
    for (let n = p.available(N, rate, now, horizonMs); n > 0; n--) sends.push(p.reserve(N, rate, now));
  }
  return sends.filter((t) => t < ms);
}

test('at 80/s over 5 simulated seconds the send count is within 2% of 400', () => {
  for (const step of [1, 7, 50, 200]) {
    const sends = simulate(new Pacer(), 80, 5000, step);
    assert.ok(Math.abs(sends.length - 400) / 400 <= 0.02, `step ${step}: ${sends.length}`);
  }
});

test('no sliding second ever holds more than the rate (Meta counts per second)', () => {
  const sends = simulate(new Pacer(), 80, 5000, 3);
  for (let i = 0; i + 80 < sends.length; i++)
    assert.ok(sends[i + 80]! - sends[i]! >= 1000, `sends ${i}..${i + 80} within 1 s`);
});

test('accurate at high rates too (1000/s polled every 10 ms)', () => {
  const sends = simulate(new Pacer(), 1000, 3000, 10);
  assert.ok(Math.abs(sends.length - 3000) / 3000 <= 0.02, String(sends.length));
});

test('available() counts the slots within a horizon; reservations take them', () => {
  const p = new Pacer();
  assert.equal(p.available(N, 80, 0, 250), 21); // slots at 0, 12.5 … 250
  for (let i = 0; i < 21; i++) p.reserve(N, 80, 0);
  assert.equal(p.available(N, 80, 0, 250), 0);
  assert.equal(p.available(N, 80, 100, 250), 8);
  p.unreserve(N, 80, 100);
  assert.equal(p.available(N, 80, 100, 250), 9);
});

test('130429 cuts the rate by a quarter, pauses the number for a second, and the rate recovers over ten seconds', () => {
  const p = new Pacer();
  p.reserve(N, 80, 0);
  p.slowDown(N, 80, 0);
  assert.equal(p.rateOf(N, 80, 0), 60);
  assert.equal(p.pausedUntil(N), SLOWDOWN_PAUSE_MS);
  assert.equal(p.available(N, 80, 500, 250), 0, 'paused');
  assert.ok(p.reserve(N, 80, 500) >= SLOWDOWN_PAUSE_MS);
  assert.equal(p.rateOf(N, 80, RECOVERY_MS / 4), 60 + 80 / 4, 'linear recovery');
  p.slowDown(N, 80, 10_000);
  p.slowDown(N, 80, 10_000);
  assert.equal(p.rateOf(N, 80, 10_000), 45);
  assert.equal(p.rateOf(N, 80, 10_000 + RECOVERY_MS), 80, 'never above the configured rate');
});

test('131056 penalises only that recipient: 1, 4, 16 s while it repeats; a success resets it', () => {
  const p = new Pacer();
  assert.equal(p.penalizeRecipient('a', 0), 1000);
  assert.equal(p.penalizeRecipient('a', 1000), 5000);
  assert.equal(p.penalizeRecipient('a', 5000), 21_000);
  assert.equal(p.recipientReadyAt('b'), 0);
  p.recipientOk('a');
  assert.equal(p.penalizeRecipient('a', 30_000), 31_000);
});

test('recipient spacing, when configured, keeps messages to one person apart', () => {
  const p = new Pacer({ recipientSpacingMs: 6000 });
  p.noteRecipientClaimed('a', 0);
  assert.equal(p.recipientReadyAt('a'), 6000);
  assert.equal(new Pacer().recipientReadyAt('a'), 0);
  const q = new Pacer();
  q.noteRecipientClaimed('a', 0);
  assert.equal(q.recipientReadyAt('a'), 0, 'default spacing is 0');
});

test('a rate change of the business number takes effect at once', () => {
  const p = new Pacer();
  assert.equal(p.rateOf(N, 80, 0), 80);
  assert.equal(p.rateOf(N, 1000, 0), 1000);
});

test('the send-time guard keeps late, bunched sends to the rate in any second (plus a 10 ms margin)', () => {
  const p = new Pacer();
  // Timers fired late: 80 sends want to leave at once at t=0, then 80 more at t=500.
  const times: number[] = [];
  for (const want of [...Array(80).fill(0), ...Array(80).fill(500)] as number[]) {
    let now = Math.max(want, times[times.length - 1] ?? 0);
    for (let w = p.sendWait(N, 80, now); w > 0; w = p.sendWait(N, 80, now)) now += w;
    p.noteSent(N, now);
    times.push(now);
  }
  assert.equal(times.filter((t) => t === 0).length, 80);
  assert.equal(times[80], 1010, 'the 81st waits until the first leaves the window');
  for (let i = 0; i + 80 < times.length; i++) assert.ok(times[i + 80]! - times[i]! >= 1010);
});
