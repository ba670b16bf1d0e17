import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Database } from '../src/storage/db.js';
import type { ServiceContext } from '../src/services/context.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { createTopic } from '../src/services/admin/manage-topics.js';
import { registerText } from '../src/services/admin/manage-texts.js';
import { benchContext, type BenchDbLocation } from './lib.js';

/**
 * Imports `rows` opt-ins (one per new person, two topics each, web evidence, a confirmation queued for each)
 * into a fresh business of `database`, through the real CLI path: the business and the CSV file are prepared
 * here (not timed); then a process of its own (bench/import-child.mjs) hashes, parses and imports the file with
 * the compiled build, as `optline import` does (timed), and reports its time and the kernel's peak RSS for it.
 * Run `npm run build` first (bench/run.ts does). `database` must be migrated; the caller owns it (and its
 * isolation: a throwaway file or schema).
 */
export interface ImportRun {
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
}

export async function benchImport(
  database: Database & { location: BenchDbLocation },
  rows: number,
): Promise<ImportRun> {
  const { businessId, textHash } = await seedImportBusiness(benchContext(database));
  const dir = mkdtempSync(join(tmpdir(), 'optline-bench-'));
  try {
    const file = join(dir, 'consents.csv');
    await writeCsv(file, rows);
    const args = JSON.stringify({ location: database.location, businessId, textHash, file, rows });
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('./import-child.mjs', import.meta.url)), args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`bench import process exited with ${r.status ?? r.signal}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as ImportRun;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh business with the two topics and the opt-in text every imported row names. */
export async function seedImportBusiness(ctx: ServiceContext): Promise<{ businessId: string; textHash: string }> {
  const business = await createBusiness(ctx, {
    slug: `bench-${randomBytes(4).toString('hex')}`,
    displayName: 'Bench Shop',
  });
  await createTopic(ctx, business.id, { key: 'delivery', name: 'delivery updates', category: 'utility' });
  await createTopic(ctx, business.id, { key: 'billing', name: 'billing alerts', category: 'utility' });
  const text = await registerText(ctx, business.id, {
    name: 'default',
    language: 'en',
    topicKeys: ['delivery', 'billing'],
    body: 'Yes, send me delivery updates and billing alerts from Bench Shop on WhatsApp. Reply STOP at any time to opt out.',
  });
  return { businessId: business.id, textHash: text.hash };
}

export async function writeCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const base = Date.UTC(2025, 0, 1);
  out.write('phone,topics,action,occurred_at,channel,evidence_ip,evidence_user_agent,evidence_page_url\n');
  for (let i = 0; i < rows; i++) {
    // Distinct valid UK mobile numbers, written the way people type them.
    const n = String(10_000_000 + i);
    const line = `+44 79${n.slice(0, 2)} ${n.slice(2)},delivery;billing,checked_box,${new Date(base + i * 1000).toISOString()},web,198.51.100.${i % 250},Mozilla/5.0,https://shop.example/sign-up\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
