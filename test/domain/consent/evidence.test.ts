import { it, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EVIDENCE_LIMITS, evidenceProblem, isIpAddress } from '../../../src/domain/consent/evidence.js';

describe('evidence rules', () => {
  it('an ip is an IPv4 or IPv6 address', () => {
    for (const ok of [
      '203.0.113.9',
      '0.0.0.0',
      '::1',
      '2001:db8::8a2e:370:7334',
      '2001:0db8:0000:0000:0000:ff00:0042:8329',
      '::ffff:192.0.2.1',
      'fe80::',
    ])
      assert.ok(isIpAddress(ok), ok);
    for (const bad of [
      '',
      '256.1.1.1',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.4:80',
      'localhost',
      '2001:db8:::1',
      '1:2:3:4:5:6:7:8:9',
      '::ffff:999.0.0.1',
      'true',
    ])
      assert.ok(!isIpAddress(bad), bad);
  });

  it('typed fields refuse the wrong type; unknown keys are kept within bounds', () => {
    const web = { ip: '203.0.113.9', userAgent: 'Mozilla/5.0', pageUrl: 'https://shop.example/whatsapp' };
    assert.equal(evidenceProblem({ ...web, anything: { nested: [1, 'two', true, null] } }), null);
    for (const ip of [true, 0, [], {}, 'x'.repeat(200_000), 'not an ip'])
      assert.equal(evidenceProblem({ ...web, ip })?.field, 'evidence.ip', JSON.stringify(ip).slice(0, 20));
    for (const pageUrl of [
      'javascript:alert(1)',
      'ftp://x.example/',
      'not a url',
      7,
      `https://x.example/${'a'.repeat(EVIDENCE_LIMITS.maxUrl)}`,
    ])
      assert.equal(evidenceProblem({ ...web, pageUrl })?.field, 'evidence.pageUrl');
    assert.equal(
      evidenceProblem({ ...web, userAgent: 'u'.repeat(EVIDENCE_LIMITS.maxText + 1) })?.field,
      'evidence.userAgent',
    );
    assert.equal(evidenceProblem({ messageId: '' })?.field, 'evidence.messageId');
    assert.equal(evidenceProblem({ messageId: { $gt: '' } })?.field, 'evidence.messageId');
    assert.equal(evidenceProblem({ note: 'n'.repeat(EVIDENCE_LIMITS.maxText + 1) })?.field, 'evidence.note');
    assert.equal(evidenceProblem({ a: { b: { c: { d: { e: 1 } } } } }), null, 'five levels');
    assert.equal(evidenceProblem({ a: { b: { c: { d: { e: { f: 1 } } } } } })?.field, 'evidence.a.b.c.d.e');
    const big = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
    assert.equal(evidenceProblem(big)?.field, 'evidence', '10 KB in all');
  });
});
