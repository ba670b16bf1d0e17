import { AppError } from '../domain/errors.js';
import { ConfigError } from '../config.js';
import { MissingSecretError, openRuntime, type Runtime } from './runtime.js';

/**
 * Runs a command body with an opened runtime, closes it, and turns known errors into one clear line on
 * stderr (exit 1) instead of a stack trace.
 */
export async function runCommand(body: (rt: Runtime) => Promise<number>, opts: { allowLocalKey?: boolean } = {}): Promise<void> {
  let rt: Runtime | undefined;
  let code = 1;
  try {
    rt = await openRuntime({ allowLocalKey: opts.allowLocalKey, logLevel: 'warn' });
    code = await body(rt);
  } catch (e) {
    process.stderr.write(`optline: ${describeError(e)}\n`);
    code = 1;
  } finally {
    await rt?.close().catch(() => {});
  }
  process.exitCode = code;
}

export function describeError(e: unknown): string {
  if (e instanceof AppError) {
    const fields = e.problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return `${e.code}: ${e.message}${fields && !e.message.includes(fields) ? ` (${fields})` : ''}`;
  }
  if (e instanceof ConfigError || e instanceof MissingSecretError) return e.message;
  if (e instanceof Error && e.name === 'UserError') return e.message;
  const code = (e as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'cannot reach the database (is PostgreSQL running and DATABASE_URL right?)';
  return e instanceof Error ? e.message : String(e);
}
