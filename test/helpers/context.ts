import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/lib/clock.js';
import { createKeyring } from '../../src/lib/crypto.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { Database } from '../../src/storage/db.js';
import type { ServiceContext } from '../../src/services/context.js';

export const TEST_MASTER_KEY = randomBytes(32);

export function testContext(
  database: Database,
  clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0)),
): ServiceContext & { clock: ManualClock } {
  return { database, clock, keyring: createKeyring(TEST_MASTER_KEY), logger: silentLogger() };
}
