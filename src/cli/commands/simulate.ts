import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config.js';
import { SANDBOX_APP_SECRET, SANDBOX_PHONE_NUMBER_ID } from '../../channels/whatsapp-cloud/sandbox.js';
import {
  inboundButton,
  inboundInteractive,
  inboundText,
  metaJson,
  sendSignedWebhook,
  userPreference,
  type MetaEnvelope,
} from '../../channels/whatsapp-cloud/webhook-builders.js';
import { describeError } from '../run.js';

/**
 * `optline simulate …`: plays Meta. Builds a real-shaped webhook, signs it with the app secret and POSTs it
 * to a running Optline, so the whole path (signature, inbox, keywords, ledger, reply) can be tried on a
 * laptop without a WhatsApp account. Defaults fit `optline start`: the sandbox number and app secret.
 */

export interface SimulateTarget {
  url?: string;
  appSecret?: string;
  phoneNumberId?: string;
  from?: string;
  userId?: string;
}

export type SimulateInput =
  | { kind: 'text'; text: string; forwarded?: boolean }
  | { kind: 'button'; payload: string; label?: string; context?: string }
  | { kind: 'list'; id: string; title: string; context?: string }
  | { kind: 'preference'; value: 'stop' | 'resume' };

export interface SimulateIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const DEFAULT_FROM = '+447911123456';

/** The envelope Meta would send for this input. */
export function simulatedEnvelope(
  input: SimulateInput,
  t: Required<Pick<SimulateTarget, 'phoneNumberId'>> & SimulateTarget,
): MetaEnvelope {
  const digits = t.from?.replace(/^\+/, '').replace(/[\s-]/g, '');
  const who = {
    phoneNumberId: t.phoneNumberId,
    ...(digits ? { from: digits } : {}),
    ...(t.userId ? { userId: t.userId } : {}),
  };
  switch (input.kind) {
    case 'text':
      return inboundText({ ...who, text: input.text, forwarded: input.forwarded });
    case 'button':
      return inboundButton({
        ...who,
        payload: input.payload,
        text: input.label ?? input.payload,
        ...(input.context ? { contextMessageId: input.context } : {}),
      });
    case 'list':
      return inboundInteractive({
        ...who,
        replyType: 'list_reply',
        id: input.id,
        title: input.title,
        ...(input.context ? { contextMessageId: input.context } : {}),
      });
    case 'preference':
      return userPreference({
        phoneNumberId: t.phoneNumberId,
        waId: digits ?? DEFAULT_FROM.slice(1),
        value: input.value,
        ...(t.userId ? { userId: t.userId } : {}),
      });
  }
}

/** Sends one simulated webhook; prints what was sent and Optline's answer. Exit code: 0 on a 2xx, else 1. */
export async function runSimulate(input: SimulateInput, target: SimulateTarget, io: SimulateIO): Promise<number> {
  const config = loadConfig();
  // The server this machine runs: its configured port (OPTLINE_PORT), not a public URL that may point elsewhere.
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = (target.url ?? `http://${host}:${config.port}`).replace(/\/$/, '');
  const url = `${base}/webhooks/whatsapp`;
  const secret = target.appSecret ?? config.whatsapp.appSecret ?? SANDBOX_APP_SECRET;
  const env = simulatedEnvelope(input, {
    ...target,
    phoneNumberId: target.phoneNumberId ?? SANDBOX_PHONE_NUMBER_ID,
    from: target.userId && !target.from ? undefined : (target.from ?? DEFAULT_FROM),
  });
  io.out.write(`POST ${url}\n${JSON.stringify(JSON.parse(metaJson(env)), null, 2)}\n`);
  try {
    const r = await sendSignedWebhook(url, env, secret, { timeoutMs: 10_000 });
    io.out.write(`-> ${r.status} ${r.body}\n`);
    return r.status >= 200 && r.status < 300 ? 0 : 1;
  } catch (e) {
    // Said as what it is (nothing answers at that address), never as a database problem.
    const cause = (e as { cause?: { code?: string } }).cause;
    const why = cause?.code ?? describeError(cause ?? e);
    io.err.write(
      `optline simulate: cannot reach ${url} (${why}): is Optline running? Start it with \`npm start\`, or give --url\n`,
    );
    return 1;
  }
}

const preferenceValue = (v: string) => {
  if (v !== 'stop' && v !== 'resume') throw new InvalidArgumentError('stop or resume');
  return v;
};

interface CommonOpts extends SimulateTarget {
  phoneNumberId?: string;
}

function common(cmd: Command): Command {
  return cmd
    .option('--from <phone>', 'the person writing, E.164 or WhatsApp digits', DEFAULT_FROM)
    .option('--user-id <bsuid>', 'business-scoped user id (BSUID); alone (with --from "") for a username-only user')
    .option('--phone-number-id <id>', "the business's WhatsApp phone_number_id", SANDBOX_PHONE_NUMBER_ID)
    .option('--url <url>', 'where Optline runs (default: this machine at OPTLINE_PORT)')
    .option(
      '--app-secret <secret>',
      'Meta app secret to sign with (default: OPTLINE_META_APP_SECRET, else the sandbox secret)',
    );
}

const target = (o: CommonOpts): SimulateTarget => ({
  url: o.url,
  appSecret: o.appSecret,
  phoneNumberId: o.phoneNumberId,
  from: o.from === '' ? undefined : o.from,
  userId: o.userId,
});

const run = async (input: SimulateInput, o: CommonOpts) => {
  try {
    process.exitCode = await runSimulate(input, target(o), { out: process.stdout, err: process.stderr });
  } catch (e) {
    process.stderr.write(`optline simulate: ${describeError(e)}\n`);
    process.exitCode = 1;
  }
};

export function registerSimulate(program: Command): void {
  const sim = program
    .command('simulate')
    .description(
      "send a signed, Meta-shaped WhatsApp webhook to a running Optline (try STOP, START, buttons, Meta's marketing setting)",
    );
  common(sim.command('text').description('the person writes a text message'))
    .requiredOption('--text <text>', 'what they write, e.g. STOP')
    .option('--forwarded', 'mark it as forwarded')
    .action((o: CommonOpts & { text: string; forwarded?: boolean }) =>
      run({ kind: 'text', text: o.text, forwarded: o.forwarded }, o),
    );
  common(sim.command('button').description('the person taps a quick-reply button on a template'))
    .requiredOption('--payload <payload>', 'the button payload, e.g. OPTOUT_MARKETING or optline:confirm:<eventId>')
    .option('--label <label>', 'the button label (default: the payload)')
    .option('--context <wamid>', 'wamid of the template the button was on')
    .action((o: CommonOpts & { payload: string; label?: string; context?: string }) =>
      run({ kind: 'button', payload: o.payload, label: o.label, context: o.context }, o),
    );
  common(sim.command('list').description('the person picks a row of a list (or a reply button) we sent'))
    .requiredOption('--id <id>', 'the row id, e.g. optline:optin:<textHash>')
    .requiredOption('--title <title>', 'the row title')
    .option('--context <wamid>', 'wamid of the list message')
    .action((o: CommonOpts & { id: string; title: string; context?: string }) =>
      run({ kind: 'list', id: o.id, title: o.title, context: o.context }, o),
    );
  common(
    sim
      .command('preference')
      .description('the person switches WhatsApp\'s "Offers and announcements" setting for the business'),
  )
    .requiredOption('--value <stop|resume>', 'stop or resume', preferenceValue)
    .action((o: CommonOpts & { value: 'stop' | 'resume' }) => run({ kind: 'preference', value: o.value }, o));
}
