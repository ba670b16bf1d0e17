import type { Command } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey } from '../../services/admin/manage-keys.js';
import { resolveBusiness, runCommand, UserError } from '../run.js';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys (keys are shown once; only hashes are stored)');
  keys
    .command('create')
    .description('create a key for a business, or a platform admin key with --admin')
    .option('--business <slug>', 'the business the key belongs to')
    .option('--admin', 'a platform admin key (creates businesses)')
    .requiredOption('--name <name>', 'what the key is for, e.g. "checkout service"')
    .action(async (o: { business?: string; admin?: boolean; name: string }) => {
      process.exitCode = await runCommand('keys create', async ({ ctx }) => {
        if (!!o.admin === !!o.business) throw new UserError('give either --business <slug> or --admin');
        const businessId = o.business ? (await resolveBusiness(ctx, o.business)).id : null;
        const { key, info } = await createApiKey(ctx, { businessId, name: o.name });
        process.stdout.write(`${key}\n`);
        process.stderr.write(`created ${info.id} (${businessId ? `business ${o.business}` : 'platform admin'}). Store the key now: it is not shown again.\n`);
        return 0;
      });
    });
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--business <slug>', 'list this business\'s keys (default: admin keys)')
    .action(async (o: { business?: string }) => {
      process.exitCode = await runCommand('keys list', async ({ ctx }) => {
        const businessId = o.business ? (await resolveBusiness(ctx, o.business)).id : null;
        for (const k of await listApiKeys(ctx, businessId)) {
          process.stdout.write(`${k.id}  ${k.prefix}…  ${k.name}  ${k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : 'active'}\n`);
        }
        return 0;
      });
    });
  keys
    .command('revoke <keyId>')
    .description('revoke a key at once')
    .option('--business <slug>', 'the key\'s business (omit for admin keys)')
    .action(async (keyId: string, o: { business?: string }) => {
      process.exitCode = await runCommand('keys revoke', async ({ ctx }) => {
        const businessId = o.business ? (await resolveBusiness(ctx, o.business)).id : null;
        const k = await revokeApiKey(ctx, businessId, keyId);
        process.stdout.write(`revoked ${k.id} (${k.name})\n`);
        return 0;
      });
    });
}
