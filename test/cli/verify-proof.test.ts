import { it, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/lib/clock.js';
import { createKeyring } from '../../src/lib/crypto.js';
import { silentLogger } from '../../src/lib/logger.js';
import { openSqlite } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { recordOptIn } from '../../src/services/consent/record-opt-in.js';
import { seedBusiness, webEvidence } from '../helpers/seed.js';

// The real `optline` command, in child processes: seal, verify (a person deleted after the seal), export --proof,
// ledger-key, and verify-proof with nothing but the bundle and the public key (no database, no master key).
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function optline(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', OPTLINE_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('optline seal, verify, export --proof, verify-proof (SQLite, real command)', () => {
  let dir: string;
  let env: Record<string, string>;
  let slug: string;
  let kept: string;
  let gone: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'optline-proof-'));
    const master = randomBytes(32);
    env = { OPTLINE_DATA_DIR: join(dir, 'data'), OPTLINE_MASTER_KEY: master.toString('base64') };
    assert.equal(optline(['migrate'], env).code, 0);
    const database = openSqlite(join(dir, 'data', 'optline.db'));
    await migrateToLatest(database);
    const ctx = {
      database,
      clock: new ManualClock(Date.UTC(2026, 5, 1)),
      keyring: createKeyring(master),
      logger: silentLogger(),
    };
    const { business, text } = await seedBusiness(ctx);
    slug = business.slug;
    const base = {
      channel: 'web' as const,
      action: 'checked_box',
      textHash: text.hash,
      evidence: webEvidence,
      actor: 't',
      topics: ['delivery'],
    };
    kept = (await recordOptIn(ctx, business.id, { ...base, person: { phone: '+447911123456' } })).personId;
    gone = (await recordOptIn(ctx, business.id, { ...base, person: { phone: '+447911123457' } })).personId;
    await database.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('verify --seal passes and seals; deleting a sealed person with all their rows then fails verify, naming business and person', () => {
    const v = optline(['verify', '--business', slug, '--seal'], env);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /every chain is intact; 1 business\(es\) sealed now/);
    const s = optline(['seal', '--business', slug], env);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /0 of 1 business\(es\) sealed/, 'nothing new to seal');

    const sql = `DELETE FROM consent_evidence WHERE event_id IN (SELECT id FROM consent_events WHERE person_id = '${gone}');
      DELETE FROM consent_state WHERE person_id = '${gone}'; DELETE FROM messages WHERE person_id = '${gone}';
      DELETE FROM consent_events WHERE person_id = '${gone}'; DELETE FROM people WHERE id = '${gone}';`;
    const database = openSqlite(join(dir, 'data', 'optline.db'));
    database.sqlite!.exec(sql);
    return database.close().then(() => {
      const broken = optline(['verify', '--business', slug], env);
      assert.equal(broken.code, 1, broken.out);
      assert.match(
        broken.out,
        new RegExp(
          `business ${slug} \\(biz_[0-9a-z]+\\), person ${gone}: person ${gone}, covered by seal #1 with 1 event\\(s\\), was deleted with their whole chain`,
        ),
      );
    });
  });

  it('export --proof writes a signed bundle that verify-proof checks with only the bundle and the public key', () => {
    const bundle = join(dir, 'bundle.json');
    const e = optline(['export', '--business', slug, '--person', kept, '--proof', '--out', bundle], env);
    assert.equal(e.code, 0, e.err);
    const k = optline(['ledger-key'], env);
    assert.equal(k.code, 0, k.err);
    const pem = join(dir, 'key.pem');
    writeFileSync(pem, k.out);
    // No data dir, no database, no master key.
    const ok = optline(['verify-proof', bundle, '--public-key', pem], {});
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(
      ok.out,
      new RegExp(`proof holds: signed by key [0-9a-f]{16}, business biz_[0-9a-z]+, person ${kept}, 1 event\\(s\\)`),
    );

    const text = readFileSync(bundle, 'utf8');
    const at = text.indexOf('+447911123456') + 5;
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, `${text.slice(0, at)}${text[at] === '9' ? '8' : '9'}${text.slice(at + 1)}`);
    const bad = optline(['verify-proof', tampered, '--public-key', pem], {});
    assert.equal(bad.code, 1);
    assert.match(bad.out, /proof does NOT hold: the signature does not match the content/);
    const missing = optline(['verify-proof', join(dir, 'nope.json'), '--public-key', pem], {});
    assert.equal(missing.code, 1);
    assert.match(missing.err, /optline verify-proof: cannot read .*nope\.json/);
  });
});
