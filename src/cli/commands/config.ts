import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../config.js';
import type { CliIO } from '../run.js';

type Env = Record<string, string | undefined>;

/** Names whose values are secrets: shown as set or not, never printed. */
const SECRET = /KEY|SECRET|TOKEN|PASSWORD/;

/** A value as it may be printed: secrets masked, a URL's password hidden. */
export function shownValue(name: string, value: string): string {
  if (SECRET.test(name)) return `${value.slice(0, 4)}… (set, ${value.length} characters)`;
  try {
    const u = new URL(value);
    if (u.password) {
      u.password = '****';
      return u.toString();
    }
  } catch {
    // not a URL
  }
  return value;
}

/**
 * `optline config`: every setting with the value in effect and where it came from (the environment, PORT for the
 * port, the key file `start` generated, or the default), secrets masked; then whether the whole is valid.
 */
export function runConfig(env: Env, io: CliIO): number {
  const rows: [string, string, string][] = [];
  for (const v of CONFIG_VARIABLES) {
    const raw = env[v.name];
    if (raw !== undefined && raw !== '') rows.push([v.name, shownValue(v.name, raw), 'environment']);
    else if (v.name === 'OPTLINE_PORT' && env.PORT) rows.push([v.name, env.PORT, 'PORT']);
    else if (v.name === 'OPTLINE_MASTER_KEY' && existsSync(join(env.OPTLINE_DATA_DIR || './data', 'master.key'))) {
      rows.push([
        v.name,
        '(set, from the key file)',
        `${join(env.OPTLINE_DATA_DIR || './data', 'master.key')} (made by optline start)`,
      ]);
    } else rows.push([v.name, v.default, 'default']);
  }
  const width = Math.max(...rows.map((r) => r[1].length), 5);
  io.out.write(`${'setting'.padEnd(34)} ${'value'.padEnd(width)} from\n`);
  for (const [name, value, from] of rows) io.out.write(`${name.padEnd(34)} ${value.padEnd(width)} ${from}\n`);
  try {
    loadConfig(env);
    io.out.write('\nthe configuration is valid\n');
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err.write(`\n${e.message}\n`);
    return 1;
  }
}
