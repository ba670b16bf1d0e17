import type { Command } from 'commander';
import { isRole, ROLES } from '../../domain/access/roles.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../services/admin/manage-keys.js';
import { resolveBusiness, runCommand, UserError } from '../run.js';

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('create, list and revoke API keys (keys are shown once; only hashes are stored)');
  keys
    .command('create')
    .description('create a key for a business, or a platform admin key with --admin')
    .option('--business <slug>', 'the business the key belongs to')
    .option('--admin', 'a platform admin key (creates businesses)')
    .requiredOption('--name <name>', 'what the key is for, e.g. "checkout service"')
    .option(
      '--role <role>',
      "a business key's role: read (look, export, verify), write (record, send) or admin (also keys and settings)",
      'admin',
    )
    .action(async (o: { business?: string; admin?: boolean; name: string; role: string }) => {
      process.exitCode = await runCommand('keys create', async ({ ctx }) => {
        if (!!o.admin === !!o.business) throw new UserError('give either --business <slug> or --admin');
        if (!isRole(o.role)) throw new UserError(`--role must be one of ${ROLES.join(', ')}`);
        const businessId = o.business ? (await resolveBusiness(ctx, o.business)).id : null;
        const { key, info } = await createApiKey(ctx, { businessId, name: o.name, role: o.role });
        process.stdout.write(`${key}\n`);
        process.stderr.write(
          `created ${info.id} (${businessId ? `business ${o.business}, role ${info.role}` : 'platform admin'}). Store the key now: it is not shown again.\n`,
        );
        return 0;
      });
    });
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--business <slug>', "list this business's keys (default: admin keys)")
    .action(async (o: { business?: string }) => {
      process.exitCode = await runCommand('keys list', async ({ ctx }) => {
        const businessId = o.business ? (await resolveBusiness(ctx, o.business)).id : null;
        for (const k of await listApiKeys(ctx, businessId)) {
          process.stdout.write(
            `${k.id}  ${k.prefix}…  ${k.name}  ${k.role ?? 'platform'}  ${k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : 'active'}\n`,
          );
        }
        return 0;
      });
    });
  keys
    .command('revoke <keyId>')
    .description('revoke a key at once')
    .option('--business <slug>', "the key's business (omit for admin keys)")
    .action(async (keyId: string, o: { business?: string }) => {
      process.exitCode = await runCommand('keys revoke', async ({ ctx }) => {
        const businessId = o.business ? (await resolveBusiness(ctx, o.business)).id : null;
        const k = await revokeApiKey(ctx, businessId, keyId);
        process.stdout.write(`revoked ${k.id} (${k.name})\n`);
        return 0;
      });
    });
}
