import type { Command } from 'commander';
import { decideSend } from '../../services/dispatch/decide-send.js';
import type { ServiceContext } from '../../services/context.js';
import { resolveBusiness, runCommand } from '../run.js';

/** The gate from the shell, explained: every reason with the events it rests on. */
export async function checkCommand(
  ctx: ServiceContext,
  phone: string,
  o: { business: string; topic: string; json?: boolean },
  out = process.stdout,
): Promise<number> {
  const b = await resolveBusiness(ctx, o.business);
  const d = await decideSend(ctx, b.id, { person: { phone }, topic: o.topic });
  if (o.json) {
    out.write(`${JSON.stringify(d, null, 2)}\n`);
  } else {
    const verdict =
      d.outcome === 'allow'
        ? 'ALLOW'
        : d.outcome === 'defer'
          ? `DEFER until ${new Date(d.notBefore!).toISOString()}`
          : 'REFUSE';
    out.write(`${verdict}: ${b.displayName} → ${phone}, topic "${o.topic}"\n`);
    if (d.reasons.length === 0)
      out.write('  the person opted in to this topic and no cap, quiet hours or suppression applies\n');
    for (const r of d.reasons) {
      out.write(`  ${r.code}: ${r.message}${r.eventIds.length ? ` (events: ${r.eventIds.join(', ')})` : ''}\n`);
    }
  }
  return d.outcome === 'allow' ? 0 : 3;
}

export function registerCheck(program: Command): void {
  program
    .command('check <phone>')
    .description(
      'ask the send gate whether a notification may go to this number now, with every reason (exit 0 allow, 3 refuse/defer)',
    )
    .requiredOption('--business <slug>', 'the business (slug or id)')
    .requiredOption('--topic <key>', 'the topic of the notification')
    .option('--json', 'print the decision as JSON')
    .action(async (phone: string, o: { business: string; topic: string; json?: boolean }) => {
      process.exitCode = await runCommand('check', ({ ctx }) => checkCommand(ctx, phone, o));
    });
}
