import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package as a user gets it: `npm pack`, then `npm install <tarball>` in an empty directory and
 * `npx optline start` there, answering /readyz. The pack is made from a copy of the tree (its prepack builds dist/
 * there, not in the checkout); the install resolves dependencies from the npm cache first (--prefer-offline).
 * Without network, better-sqlite3's install script cannot download its prebuilt binary and compiles it instead
 * (over five minutes on two cores, past the runner's per-file limit). So the install runs with --ignore-scripts and
 * the binary `npm ci` built for this Node in the checkout is copied in: what its install script would have placed.
 * Everything else is the tarball's own files and the dependencies npm resolved for it.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'optline-pack-'));
let child: ChildProcess | null = null;
after(() => {
  if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const run = (cmd: string, args: string[], cwd: string, timeout: number) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

it(
  'npm pack, npm install of the tarball in an empty directory, npx optline start answers /readyz, npx optline import',
  { timeout: 290_000 },
  async () => {
    const src = join(work, 'src-copy');
    mkdirSync(src);
    for (const p of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src',
      'web',
      'docs',
      'README.md',
    ]) {
      cpSync(join(root, p), join(src, p), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'), 'dir');
    const out = join(work, 'pack');
    mkdirSync(out);
    run('npm', ['pack', '--pack-destination', out], src, 180_000);
    const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');

    const app = join(work, 'empty');
    mkdirSync(app);
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(out, tarball)],
      app,
      100_000,
    );
    const native = join('node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(join(app, native), { recursive: true });
    cpSync(join(root, native, 'better_sqlite3.node'), join(app, native, 'better_sqlite3.node'));

    const port = await freePort();
    child = spawn('npx', ['--no-install', 'optline', 'start'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: {
        ...process.env,
        OPTLINE_PORT: String(port),
        OPTLINE_DATA_DIR: join(app, 'data'),
        OPTLINE_LOG_LEVEL: 'warn',
        DATABASE_URL: '',
      },
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<string>((r) => child!.once('exit', (code, signal) => r(signal ?? String(code))));
    const started = new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', () => {
        if (output.includes('Optline is running at')) resolve();
      });
      void exited.then((code) => reject(new Error(`optline start exited (${code}) before it was running:\n${output}`)));
    });
    await started;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    // npx does not pass a signal on: stop its process group (npx and optline), as a terminal's Ctrl-C would.
    process.kill(-child.pid!, 'SIGTERM');
    assert.ok(['0', 'SIGTERM'].includes(await exited), output);
    child = null;
    let stopped = false;
    for (let i = 0; i < 100 && !stopped; i++) {
      stopped = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        () => false,
        () => true,
      );
      if (!stopped) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(stopped, 'the server stopped with npx');

    // The import's reader is a worker thread in a file of its own: the package must ship it and the installed,
    // compiled import must find it. Into the demo business `start` created, with the opt-in text it announced.
    const textHash = /opt-in text: +([0-9a-f]{64})/.exec(output)?.[1];
    assert.ok(textHash, output);
    const csv = join(work, 'consents.csv');
    writeFileSync(
      csv,
      'phone,topics,action,occurred_at,channel\n+447911000001,delivery,checked_box,2026-01-01T00:00:00Z,web\n' +
        'bad,delivery,checked_box,2026-01-01T00:00:00Z,web\n',
    );
    const imported = spawnSync(
      'npx',
      ['--no-install', 'optline', 'import', '--business', 'demo', '--text', textHash, '--json', csv],
      {
        cwd: app,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, OPTLINE_DATA_DIR: join(app, 'data'), OPTLINE_LOG_LEVEL: 'warn', DATABASE_URL: '' },
      },
    );
    // Exit code 2: imported, with rows refused.
    assert.equal(imported.status, 2, imported.stdout + imported.stderr);
    const r = JSON.parse(imported.stdout) as {
      total: number;
      imported: number;
      refused: { row: number; code: string }[];
    };
    assert.deepEqual([r.total, r.imported, r.refused.map((x) => [x.row, x.code])], [2, 1, [[2, 'INVALID_PHONE']]]);
  },
);
