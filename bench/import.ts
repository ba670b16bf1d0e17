import { mkdtempSync, rmSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../src/lib/clock.js';
import { createKeyring } from '../src/lib/crypto.js';
import { silentLogger } from '../src/lib/logger.js';
import type { Database } from '../src/storage/db.js';
import type { ServiceContext } from '../src/services/context.js';
import { createBusiness } from '../src/services/admin/manage-businesses.js';
import { createTopic } from '../src/services/admin/manage-topics.js';
import { registerText } from '../src/services/admin/manage-texts.js';
import { importConsents } from '../src/services/import/import-consents.js';
import { hashFile } from '../src/services/import/import-file.js';

/**
 * Imports `rows` opt-ins (one per new person, two topics each, web evidence, a confirmation queued for each)
 * into a fresh business of `database`, through the real CLI path: the CSV file is written to a temporary
 * directory first (not timed), then hashed, parsed and imported (timed). Floor: 1,000,000 rows in 60 s.
 * `database` must be migrated; the caller owns it (and its isolation: a throwaway file or schema).
 */
export async function benchImport(
  database: Database,
  rows: number,
): Promise<{ seconds: number; rowsPerSecond: number; peakRssMb: number }> {
  const ctx: ServiceContext = {
    database,
    clock: systemClock,
    keyring: createKeyring(randomBytes(32)),
    logger: silentLogger(),
  };
  const { businessId, textHash } = await seedImportBusiness(ctx);

  const dir = mkdtempSync(join(tmpdir(), 'optline-bench-'));
  try {
    const file = join(dir, 'consents.csv');
    await writeCsv(file, rows);
    const t0 = performance.now();
    const fileHash = await hashFile(file);
    const result = await importConsents(ctx, businessId, {
      file,
      fileName: 'consents.csv',
      fileHash,
      actor: 'bench',
      defaultTextHash: textHash,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (result.imported !== rows)
      throw new Error(
        `bench import: ${result.imported} of ${rows} rows imported (${result.refused[0]?.reason ?? 'no refusal'})`,
      );
    return {
      seconds,
      rowsPerSecond: Math.round(rows / seconds),
      // The process's peak resident set (kB), the kernel's figure: run it in a process of its own
      // (bench/import-process.ts) so that the peak is the import's.
      peakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
    };
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
