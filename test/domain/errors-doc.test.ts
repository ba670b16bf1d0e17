import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { GATE_REASONS } from '../../src/domain/gate/decide.js';
import { HTTP_STATUS } from '../../src/http/error-handler.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = (section: string) => {
  const part =
    section === 'errors'
      ? doc.split('## Send gate reasons')[0]!
      : doc.split('## Send gate reasons')[1]!.split('\n## ')[0]!;
  return [...part.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
};

it('docs/errors.md lists every error code once, with its HTTP status, and nothing else', () => {
  const documented = rows('errors');
  assert.deepEqual(documented.map(([c]) => c).sort(), Object.keys(ERROR_CODES).sort());
  assert.equal(new Set(documented.map(([c]) => c)).size, documented.length, 'no duplicate rows');
  for (const [code, status] of documented)
    assert.equal(Number(status), HTTP_STATUS[code as keyof typeof HTTP_STATUS], `status of ${code}`);
});

it('docs/errors.md lists every send gate reason', () => {
  assert.deepEqual(
    rows('reasons')
      .map(([c]) => c)
      .sort(),
    Object.keys(GATE_REASONS).sort(),
  );
});
