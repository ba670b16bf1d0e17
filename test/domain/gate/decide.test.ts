import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capWindowMs, decide, gateWindowMs, quietUntil, type GateFacts } from '../../../src/domain/gate/decide.js';
import { DEFAULT_POLICY, mergePolicy } from '../../../src/domain/gate/policy.js';
import { nextState } from '../../../src/domain/consent/model.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0); // 12:00 UTC = 13:00 London (BST)
const base = (over: Partial<GateFacts> = {}): GateFacts => ({
  now: NOW,
  policy: { ...DEFAULT_POLICY },
  topic: { id: 'top_1', key: 'delivery', category: 'utility', archived: false },
  person: { id: 'per_1', erased: false, unreachable: false, timezone: 'Europe/London' },
  suppressed: false,
  state: { status: 'opted_in', eventId: 'evt_1' },
  recentSends: [],
  ...over,
});
const codes = (f: GateFacts) => decide(f).reasons.map((r) => r.code);

describe('send gate', () => {
  it('allows an opted-in person', () => assert.equal(decide(base()).outcome, 'allow'));
  it('refuses without consent, after opt-out, pending confirmation', () => {
    assert.deepEqual(codes(base({ state: null })), ['NO_CONSENT']);
    assert.deepEqual(codes(base({ state: { status: 'opted_out', eventId: 'evt_9' } })), ['OPTED_OUT']);
    assert.deepEqual(decide(base({ state: { status: 'opted_out', eventId: 'evt_9' } })).reasons[0]!.eventIds, [
      'evt_9',
    ]);
    assert.deepEqual(codes(base({ state: { status: 'pending', eventId: 'evt_2' } })), ['CONFIRMATION_PENDING']);
    assert.deepEqual(codes(base({ person: null, state: null })), ['NO_CONSENT']);
  });
  it('refuses unknown and archived topics and disallowed categories', () => {
    assert.ok(codes(base({ topic: null })).includes('UNKNOWN_TOPIC'));
    assert.ok(
      codes(base({ topic: { id: 't', key: 'delivery', category: 'utility', archived: true } })).includes(
        'UNKNOWN_TOPIC',
      ),
    );
    assert.deepEqual(codes(base({ topic: { id: 't', key: 'promo', category: 'marketing', archived: false } })), [
      'CATEGORY_NOT_ALLOWED',
    ]);
  });
  it('refuses erased, suppressed and unreachable people', () => {
    assert.deepEqual(codes(base({ suppressed: true, person: null, state: null })), ['CONTACT_ERASED']);
    assert.deepEqual(codes(base({ person: { id: 'p', erased: true, unreachable: false, timezone: null } })), [
      'CONTACT_ERASED',
    ]);
    assert.deepEqual(codes(base({ person: { id: 'p', erased: false, unreachable: true, timezone: null } })), [
      'UNREACHABLE',
    ]);
  });
  it('returns every reason that applies', () => {
    const f = base({
      state: { status: 'opted_out', eventId: 'e' },
      person: { id: 'p', erased: false, unreachable: true, timezone: null },
      topic: { id: 't', key: 'x', category: 'marketing', archived: false },
    });
    assert.deepEqual(codes(f).sort(), ['CATEGORY_NOT_ALLOWED', 'OPTED_OUT', 'UNREACHABLE']);
  });
  it('caps frequency per person and per topic, counting sends inside the window only', () => {
    const policy = {
      ...DEFAULT_POLICY,
      frequencyCaps: [
        { topic: '*', max: 3, windowHours: 24 },
        { topic: 'delivery', max: 1, windowHours: 1 },
      ],
    };
    const old = { topicKey: 'delivery', sentAt: NOW - 25 * 3_600_000 };
    assert.equal(decide(base({ policy, recentSends: [old, old, old] })).outcome, 'allow');
    const billing = { topicKey: 'billing', sentAt: NOW - 3_600_000 * 2 };
    assert.deepEqual(codes(base({ policy, recentSends: [billing, billing, billing] })), ['FREQUENCY_CAPPED']);
    assert.deepEqual(codes(base({ policy, recentSends: [{ topicKey: 'delivery', sentAt: NOW - 60_000 }] })), [
      'FREQUENCY_CAPPED',
    ]);
    assert.equal(
      decide(base({ policy, recentSends: [{ topicKey: 'billing', sentAt: NOW - 60_000 }] })).outcome,
      'allow',
    );
  });
  it('a fractional cap window is whole milliseconds, rounded up, and counts exactly the same integer times', () => {
    const cap = { topic: '*', max: 1, windowHours: 0.0123456 }; // 44 444.16 ms
    assert.equal(capWindowMs(cap), 44_445);
    const policy = { ...DEFAULT_POLICY, frequencyCaps: [cap, { topic: 'delivery', max: 5, windowHours: 743.999999 }] };
    assert.ok(Number.isInteger(gateWindowMs(policy)), 'the bound a store passes as a bigint parameter');
    assert.ok(Number.isInteger(gateWindowMs({ ...DEFAULT_POLICY, frequencyCaps: [cap] })));
    // t > now - 44 444.16 holds for t = now - 44 444 and not for t = now - 44 445: the same with the whole window.
    const only = { ...DEFAULT_POLICY, frequencyCaps: [cap] };
    assert.deepEqual(codes(base({ policy: only, recentSends: [{ topicKey: 'delivery', sentAt: NOW - 44_444 }] })), [
      'FREQUENCY_CAPPED',
    ]);
    assert.equal(
      decide(base({ policy: only, recentSends: [{ topicKey: 'delivery', sentAt: NOW - 44_445 }] })).outcome,
      'allow',
    );
  });
  it('defers (not refuses) inside quiet hours, in the recipient time zone, until the window ends', () => {
    const policy = { ...DEFAULT_POLICY, quietHours: { start: '21:00', end: '08:00', defaultTimezone: 'UTC' } };
    const night = Date.UTC(2026, 5, 1, 22, 30); // 23:30 London
    const d = decide(base({ policy, now: night }));
    assert.equal(d.outcome, 'defer');
    assert.deepEqual(
      d.reasons.map((r) => r.code),
      ['QUIET_HOURS'],
    );
    assert.equal(d.notBefore, Date.UTC(2026, 5, 2, 7, 0)); // 08:00 London = 07:00 UTC
    assert.equal(
      decide(
        base({
          policy,
          now: night,
          person: { id: 'p', erased: false, unreachable: false, timezone: 'America/New_York' },
        }),
      ).outcome,
      'allow',
      '18:30 in New York is before quiet hours',
    );
    const refusedAndQuiet = decide(base({ policy, now: night, state: null }));
    assert.equal(refusedAndQuiet.outcome, 'refuse', 'a refusal wins over a deferral');
  });
  it('spaces messages to one person', () => {
    const policy = { ...DEFAULT_POLICY, minSpacingSeconds: 600 };
    const d = decide(base({ policy, recentSends: [{ topicKey: 'delivery', sentAt: NOW - 60_000 }] }));
    assert.equal(d.outcome, 'defer');
    assert.equal(d.notBefore, NOW - 60_000 + 600_000);
  });
  it('computes quiet windows that do and do not wrap midnight', () => {
    assert.equal(quietUntil(Date.UTC(2026, 0, 1, 13, 0), '12:00', '14:00', 'UTC'), Date.UTC(2026, 0, 1, 14, 0));
    assert.equal(quietUntil(Date.UTC(2026, 0, 1, 15, 0), '12:00', '14:00', 'UTC'), null);
    assert.equal(quietUntil(Date.UTC(2026, 0, 1, 2, 0), '22:00', '06:00', 'UTC'), Date.UTC(2026, 0, 1, 6, 0));
  });
});

describe('consent projection', () => {
  const cur = (status: 'opted_in' | 'opted_out' | 'pending', at: number) => ({ status, decidedAt: at, eventId: 'old' });
  it('orders by when the person acted; ties go to opt-out', () => {
    assert.equal(
      nextState(cur('opted_out', 100), { id: 'e', type: 'opt_in', occurredAt: 50 }, false),
      null,
      'older opt-in ignored',
    );
    assert.equal(
      nextState(cur('opted_out', 100), { id: 'e', type: 'opt_in', occurredAt: 100 }, false),
      null,
      'tie: opt-out stays',
    );
    assert.equal(
      nextState(cur('opted_in', 100), { id: 'e', type: 'opt_out', occurredAt: 100 }, false)?.status,
      'opted_out',
      'tie: opt-out wins',
    );
    assert.equal(
      nextState(cur('opted_out', 100), { id: 'e', type: 'opt_in', occurredAt: 101 }, false)?.status,
      'opted_in',
    );
    assert.equal(nextState(undefined, { id: 'e', type: 'opt_in', occurredAt: 1 }, true)?.status, 'pending');
  });
  it('confirmation only completes a pending opt-in', () => {
    assert.equal(
      nextState(cur('pending', 10), { id: 'c', type: 'confirmed', occurredAt: 20 }, true)?.status,
      'opted_in',
    );
    assert.equal(nextState(cur('opted_out', 15), { id: 'c', type: 'confirmed', occurredAt: 20 }, true), null);
    assert.equal(nextState(undefined, { id: 'c', type: 'confirmed', occurredAt: 20 }, true), null);
  });
});

describe('policy', () => {
  it('reports each bad field', () => {
    const r = mergePolicy(DEFAULT_POLICY, {
      allowedCategories: [],
      frequencyCaps: [{ topic: '*', max: 0, windowHours: 0 }],
    });
    assert.equal(r.ok, false);
    if (!r.ok)
      assert.deepEqual(r.problems.map((p) => p.field).sort(), [
        'policy.allowedCategories',
        'policy.frequencyCaps[0].max',
        'policy.frequencyCaps[0].windowHours',
      ]);
  });
  it('defaults to transactional categories only', () =>
    assert.deepEqual(DEFAULT_POLICY.allowedCategories, ['utility', 'authentication']));
});
