import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMetaError } from '../../../src/channels/whatsapp-cloud/errors.js';
import type { SendResult } from '../../../src/channels/whatsapp-cloud/client.js';
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  MAX_ATTEMPTS,
  backoffMs,
  pacingEffectOf,
  planOutcome,
} from '../../../src/worker/dispatch/retry-policy.js';

const err = (code: number, httpStatus = 400): SendResult => ({
  ok: false,
  httpStatus,
  code,
  title: 't',
  classification: classifyMetaError(code, httpStatus),
});
const plan = (result: SendResult, o: { attempt?: number; phone?: string; engagementTries?: number } = {}) =>
  planOutcome({
    result,
    attempt: o.attempt ?? 1,
    now: 0,
    random: () => 0.999,
    engagementTries: o.engagementTries ?? 0,
    phone: o.phone ?? '+447911123456',
  });

test('full-jitter backoff stays under min(cap, base·2^(n-1))', () => {
  for (let n = 1; n <= 15; n++) {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
    assert.equal(
      backoffMs(n, () => 0),
      0,
    );
    assert.ok(backoffMs(n, () => 0.999999) < ceiling);
  }
});

test('each Meta code gets its planned outcome', () => {
  const cases: [number, number, string, string][] = [
    [1, 500, 'retry', 'META_1'],
    [2, 503, 'retry', 'META_2'],
    [131000, 500, 'retry', 'META_131000'],
    [131016, 503, 'retry', 'META_131016'],
    [131057, 500, 'retry', 'META_131057'],
    [130429, 429, 'retry', 'META_130429'],
    [131056, 429, 'retry', 'META_131056'],
    [131047, 400, 'failed', 'NEEDS_TEMPLATE'],
    [131026, 400, 'failed', 'UNREACHABLE'],
    [131050, 400, 'failed', 'MARKETING_STOPPED'],
    [131049, 400, 'retry', 'ENGAGEMENT_CAP'],
    [132001, 400, 'failed', 'META_132001'],
    [190, 401, 'failed', 'META_190'],
    [100, 400, 'failed', 'META_100'],
  ];
  for (const [code, status, kind, errorCode] of cases) {
    const p = plan(err(code, status));
    assert.equal(p.kind, kind, `${code}`);
    if (p.kind !== 'sent') assert.equal(p.errorCode, errorCode, `${code}`);
  }
  assert.equal(plan(err(-1, 0)).kind, 'retry');
  assert.equal((plan(err(-1, 0)) as { errorCode: string }).errorCode, 'NETWORK_ERROR');
  assert.equal((plan(err(-1, 502)) as { errorCode: string }).errorCode, 'HTTP_502');
});

test('side effects: 131026 marks unreachable, 131050 opts out of marketing', () => {
  assert.deepEqual((plan(err(131026)) as { effect?: string }).effect, 'unreachable');
  assert.deepEqual((plan(err(131050)) as { effect?: string }).effect, 'marketing_opt_out');
});

test('retryable errors give up after the last try; 131049 after two, and at once for US numbers', () => {
  assert.equal(plan(err(131000, 500), { attempt: MAX_ATTEMPTS }).kind, 'failed');
  assert.equal(plan(err(131000, 500), { attempt: MAX_ATTEMPTS - 1 }).kind, 'retry');
  assert.equal(plan(err(131049), { engagementTries: 1 }).kind, 'failed');
  assert.equal(plan(err(131049), { phone: '+14155552671' }).kind, 'failed');
  const p = plan(err(131049));
  assert.ok(p.kind === 'retry' && p.notBefore >= 24 * 3_600_000 && p.engagementTries === 1);
});

test('pacing effects by scope', () => {
  assert.equal(pacingEffectOf(err(130429, 429)), 'slow_number');
  assert.equal(pacingEffectOf(err(131056, 429)), 'penalize_recipient');
  assert.equal(pacingEffectOf(err(190, 401)), 'pause_number');
  assert.equal(pacingEffectOf(err(131000, 500)), 'none');
  assert.equal(pacingEffectOf({ ok: true, messageId: 'wamid.x' }), 'recipient_ok');
});
