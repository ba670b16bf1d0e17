import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { verifyBundle, type BundleCheck } from '../../lib/proof-bundle.js';
import { processIO, runCommand, type CliIO } from '../run.js';

/**
 * `optline verify-proof <bundle.json> --public-key <key.pem> [--json]`: checks a proof bundle offline, with the
 * bundle and the server's public key only (no database, no master key): the Ed25519 signature, then the links
 * and evidence hashes a reader can recompute (lib/proof-bundle.ts). Exit 0 when it holds, 1 otherwise.
 *
 * `optline ledger-key`: prints the public key (PEM) this installation signs with; the server also publishes
 * it at GET /.well-known/optline-ledger-key.
 */

export async function runVerifyProof(
  file: string,
  opts: { publicKey: string; json?: boolean },
  io: CliIO,
): Promise<number> {
  let check: BundleCheck;
  try {
    const [text, pem] = await Promise.all([
      readFile(file, 'utf8').catch(() => {
        throw new Error(`cannot read ${file}`);
      }),
      readFile(opts.publicKey, 'utf8').catch(() => {
        throw new Error(`cannot read ${opts.publicKey}`);
      }),
    ]);
    check = verifyBundle(text, pem);
  } catch (e) {
    io.err.write(`optline verify-proof: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (opts.json) io.out.write(`${JSON.stringify(check)}\n`);
  else if (check.ok)
    io.out.write(
      `proof holds: signed by key ${check.keyId}, business ${check.businessId}, person ${check.personId}, ${check.events} event(s), generated ${check.generatedAt}\n`,
    );
  else io.out.write(`proof does NOT hold: ${check.reason}\n`);
  return check.ok ? 0 : 1;
}

export function registerVerifyProof(program: Command): void {
  program
    .command('verify-proof <bundle>')
    .description("Check a proof bundle offline against the server's public key (no database, no master key)")
    .requiredOption(
      '--public-key <file>',
      'the PEM public key (GET /.well-known/optline-ledger-key, or optline ledger-key)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { publicKey: string; json?: boolean }) => {
      process.exitCode = await runVerifyProof(file, opts, processIO());
    });
  program
    .command('ledger-key')
    .description('Print the Ed25519 public key (PEM) this installation signs proof bundles with')
    .action(async () => {
      process.exitCode = await runCommand(
        'ledger-key',
        async ({ ctx }) => {
          process.stdout.write(ctx.keyring.ledger.publicKeyPem);
          return 0;
        },
        { schema: 'none' },
      );
    });
}
