import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (never a downloaded browser). OPTLINE_CHROMIUM overrides the path. A missing browser fails
 * the test with a clear message: a browser test that skips itself would hide that nothing was checked.
 */
export const CHROMIUM = process.env.OPTLINE_CHROMIUM || '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install Debian's package (apt-get install -y chromium) or set OPTLINE_CHROMIUM to its path.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A phone-sized viewport (iPhone 12-15 class). */
export const PHONE_VIEWPORT = { width: 390, height: 844 };

/** Where screenshots go (git-ignored). */
export const RESULTS_DIR = new URL('../../test-results/', import.meta.url);
