import { it, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function optline(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', OPTLINE_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('optline CLI (SQLite)', () => {
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'optline-cli-'));
    env = { OPTLINE_DATA_DIR: join(dir, 'data'), OPTLINE_MASTER_KEY: randomBytes(32).toString('base64') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serve refuses to start without a master key, with a clear message', () => {
    const r = optline(['serve'], { OPTLINE_DATA_DIR: join(dir, 'other') });
    assert.equal(r.code, 1);
    assert.match(r.err, /OPTLINE_MASTER_KEY is not set/);
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/, 'no stack trace');
  });

  it('a bad setting is named with what it expects', () => {
    const r = optline(['migrate'], { ...env, OPTLINE_PORT: 'eighty' });
    assert.equal(r.code, 1);
    assert.match(r.err, /OPTLINE_PORT must be a whole number/);
  });

  it('only serve, start and migrate migrate: other commands refuse a schema that is behind', () => {
    for (const args of [['keys', 'list'], ['check', '+447911123456', '--business', 'b', '--topic', 't'], ['verify']]) {
      const r = optline(args, env);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(
        r.err,
        /^optline [a-z ]+: the database schema is behind \(\d+ migration\(s\) pending, first 0001-initial\): run optline migrate\n$/,
      );
    }
    const status = optline(['migrate', '--status'], env);
    assert.match(status.out, /pending\s+0001-initial/, 'the refusals changed nothing');
    assert.doesNotMatch(status.out, /applied/);
  });

  it('migrate reports each step, then that the schema is up to date', () => {
    const first = optline(['migrate'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /applied\s+0001-initial/);
    const again = optline(['migrate'], env);
    assert.match(again.out, /up to date/);
    const status = optline(['migrate', '--status'], env);
    assert.match(status.out, /applied\s+0001-initial/);
  });

  it('keys: an admin key is printed once, listed by prefix only, and revocable', () => {
    const c = optline(['keys', 'create', '--admin', '--name', 'ops'], env);
    assert.equal(c.code, 0, c.err);
    const key = c.out.trim();
    assert.match(key, /^ola_[A-Za-z0-9_-]{32}$/);
    const list = optline(['keys', 'list'], env);
    assert.ok(!list.out.includes(key));
    assert.ok(list.out.includes(key.slice(0, 10)));
    const id = list.out.split(/\s+/)[0]!;
    const r = optline(['keys', 'revoke', id], env);
    assert.match(r.out, /revoked/);
    assert.equal(optline(['keys', 'create', '--name', 'x'], env).code, 1, 'neither --admin nor --business');
  });

  it('check explains a refusal and exits 3; an unknown business is one clear line', () => {
    const none = optline(['check', '+447911123456', '--business', 'nope', '--topic', 'delivery'], env);
    assert.equal(none.code, 1);
    assert.match(none.err, /^optline check: no business with slug or id "nope"\n$/);
  });
});
