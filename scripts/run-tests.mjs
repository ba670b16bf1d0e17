#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (TypeScript through tsx).
// Usage: npm test [-- <substring filter> ...]
// PostgreSQL: OPTLINE_TEST_DATABASE_URL points the PostgreSQL half of every storage/HTTP test at a real
// server; without it the tests use an in-process PostgreSQL (PGlite) so the dialect is still exercised.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test')
  .map((f) => relative('.', f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.OPTLINE_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    // OPTLINE_TEST_TIMES=1: each file's wall time too, slowest first, at the end.
    ...(process.env.OPTLINE_TEST_TIMES
      ? ['--test-reporter=./scripts/file-times-reporter.mjs', '--test-reporter-destination=stdout']
      : []),
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, OPTLINE_LOG_LEVEL: process.env.OPTLINE_LOG_LEVEL ?? 'silent' } },
);
process.exit(r.status ?? 1);
