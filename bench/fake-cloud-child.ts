import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The fake Cloud API the workers send to: how many calls it received, and when each arrived. */
export interface FakeProvider {
  url: string;
  count(): Promise<number>;
  /** Receive times (ms); asked once, at the end (the child then exits). */
  times(): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * The fake Cloud API in a process of its own (bench/fake-cloud-process.ts): its receive times are when requests
 * arrived, not when a busy benchmark process got round to them.
 */
export async function startFakeCloudChild(): Promise<FakeProvider> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./fake-cloud-process.ts', import.meta.url))],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => JSON.parse(String((await lines.next()).value)) as T;
  const { url } = await next<{ url: string }>();
  let times: number[] | null = null;
  return {
    url,
    async count() {
      child.stdin!.write('count\n');
      return (await next<{ count: number }>()).count;
    },
    async times() {
      if (!times) {
        child.stdin!.write('report\n');
        times = (await next<{ times: number[] }>()).times;
      }
      return times;
    },
    async close() {
      child.kill();
    },
  };
}
