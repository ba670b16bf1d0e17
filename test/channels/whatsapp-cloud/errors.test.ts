import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMetaError } from '../../../src/channels/whatsapp-cloud/errors.js';
import type { MetaErrorKind, MetaErrorScope } from '../../../src/channels/whatsapp-cloud/errors.js';

type Row = [code: number, kind: MetaErrorKind, retryable: boolean, scope?: MetaErrorScope];

// Every code of the reference table (section 3), with the expected reading.
const TABLE: Row[] = [
  [0, 'auth', false],
  [190, 'auth', false],
  [10, 'permission', false],
  [200, 'permission', false],
  [250, 'permission', false],
  [299, 'permission', false],
  [3, 'permission', false],
  [1, 'transient', true],
  [2, 'transient', true],
  [100, 'template', false],
  [4, 'throughput', true, 'app'],
  [80007, 'throughput', true, 'account'],
  [130429, 'throughput', true, 'number'],
  [131056, 'pair_rate', true, 'recipient'],
  [131048, 'account_blocked', false],
  [131064, 'permanent', false],
  [133016, 'permanent', false],
  [368, 'account_blocked', false],
  [131031, 'account_blocked', false],
  [130497, 'account_blocked', false],
  [131026, 'unreachable', false, 'recipient'],
  [131047, 'needs_template', false, 'recipient'],
  [131049, 'engagement_cap', false, 'recipient'],
  [131050, 'marketing_stopped', false, 'recipient'],
  [130472, 'permanent', false],
  [131051, 'permanent', false],
  [131008, 'template', false],
  [131009, 'template', false],
  [132000, 'template', false],
  [132001, 'template', false],
  [132005, 'template', false],
  [132007, 'template', false],
  [132008, 'template', false],
  [132012, 'template', false],
  [132015, 'template', false, 'template'],
  [132016, 'template', false, 'template'],
  [131000, 'transient', true],
  [131016, 'transient', true],
  [131057, 'transient', true],
  [131021, 'permanent', false],
  [131030, 'permanent', false],
  [131042, 'account_blocked', false],
  [131037, 'permanent', false],
  [131062, 'permanent', false],
  [131063, 'permanent', false],
  [137000, 'permanent', false],
  [470, 'needs_template', false, 'recipient'],
];

for (const [code, kind, retryable, scope] of TABLE) {
  test(`code ${code} → ${kind}${retryable ? ' (retryable)' : ''}`, () => {
    const c = classifyMetaError(code, 400);
    assert.equal(c.code, code);
    assert.equal(c.kind, kind);
    assert.equal(c.retryable, retryable);
    if (scope) assert.equal(c.scope, scope);
    assert.ok(c.description.length > 0);
  });
}

test('only throughput, pair_rate and transient are retryable', () => {
  for (const [code] of TABLE) {
    const c = classifyMetaError(code);
    assert.equal(c.retryable, ['throughput', 'pair_rate', 'transient'].includes(c.kind), `code ${code}`);
  }
});

test('range edges: 200–299 permission, 132000–132016 template', () => {
  assert.equal(classifyMetaError(199).kind, 'permanent');
  assert.equal(classifyMetaError(300).kind, 'permanent');
  assert.equal(classifyMetaError(132010).kind, 'template');
  assert.equal(classifyMetaError(132017).kind, 'permanent');
  assert.equal(classifyMetaError(131999).kind, 'permanent');
});

test('the code wins over the HTTP status', () => {
  // Code 3 is reported with HTTP 500 but is a permission problem: retrying will not help.
  assert.equal(classifyMetaError(3, 500).kind, 'permission');
  assert.equal(classifyMetaError(131050, 500).kind, 'marketing_stopped');
  assert.equal(classifyMetaError(130429, 400).kind, 'throughput');
  assert.equal(classifyMetaError(131056, 400).scope, 'recipient');
});

test('unknown codes fall back on the HTTP status', () => {
  assert.deepEqual(
    [500, 502, 503].map((s) => [classifyMetaError(999999, s).kind, classifyMetaError(999999, s).retryable]),
    [
      ['transient', true],
      ['transient', true],
      ['transient', true],
    ],
  );
  assert.equal(classifyMetaError(-1, 0).kind, 'transient');
  assert.equal(classifyMetaError(-1, 0).retryable, true);
  assert.equal(classifyMetaError(999999, 429).kind, 'throughput');
  assert.equal(classifyMetaError(-1, 401).kind, 'auth');
  assert.equal(classifyMetaError(-1, 403).kind, 'permission');
  assert.equal(classifyMetaError(999999, 400).kind, 'permanent');
  assert.equal(classifyMetaError(999999).kind, 'permanent');
  assert.equal(classifyMetaError(999999).retryable, false);
});
