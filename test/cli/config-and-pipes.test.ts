import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runConfig, shownValue } from '../../src/cli/commands/config.js';
import { count } from '../../src/cli/plural.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function io() {
  const grab = () => {
    const s = new PassThrough();
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString()));
    return { s, text: () => text };
  };
  const out = grab();
  const err = grab();
  return { out: out.s, err: err.s, isTTY: false, stdout: out.text, stderr: err.text };
}

it('optline config shows each value in effect and where it came from, secrets masked', () => {
  const o = io();
  const env = {
    PORT: '9000',
    OPTLINE_MASTER_KEY: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==',
    OPTLINE_DATA_DIR: '/nonexistent-optline',
    DATABASE_URL: 'postgres://app:hunter2@db.example:5432/optline',
    OPTLINE_API_KEY: 'olk_abcdefghijklmnop',
  };
  assert.equal(runConfig(env, o), 0, o.stderr());
  const line = (name: string) =>
    o
      .stdout()
      .split('\n')
      .find((l) => l.startsWith(`${name} `)) ?? '';
  assert.match(line('OPTLINE_PORT'), /9000 +PORT$/);
  assert.match(line('OPTLINE_HOST'), /127\.0\.0\.1 +default$/);
  assert.match(line('DATABASE_URL'), /postgres:\/\/app:\*\*\*\*@db\.example:5432\/optline +environment$/);
  assert.match(line('OPTLINE_MASTER_KEY'), /c2Vj… \(set, 48 characters\) +environment$/);
  assert.match(line('OPTLINE_API_KEY'), /olk_… \(set, 20 characters\) +environment$/);
  assert.doesNotMatch(o.stdout(), /hunter2|abcdefghijklmnop|LXNlY3JldC1zZWNyZXQ/);
  assert.match(o.stdout(), /the configuration is valid\n$/);
  const bad = io();
  assert.equal(runConfig({ OPTLINE_PORT: 'eighty' }, bad), 1);
  assert.match(bad.stderr(), /OPTLINE_PORT must be a whole number/);
  assert.equal(shownValue('OPTLINE_SMTP_URL', 'smtp://u:pw@mail:587'), 'smtp://u:****@mail:587');
});

it('counts read as words: 1 person, 2 people, 1 row, 3 rows', () => {
  assert.equal(count(1, 'person', 'people'), '1 person');
  assert.equal(count(2, 'person', 'people'), '2 people');
  assert.equal(count(1, 'row'), '1 row');
  assert.equal(count(3, 'row'), '3 rows');
});

it('optline piped into a reader that goes away (| head) ends quietly, with no EPIPE crash', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'config', '--list'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The reader closes before the command writes: every write meets a closed pipe.
  child.stdout.destroy();
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|Error/);
});
