// Child process for the pacing benchmark: the fake Cloud API in its own process, so the times it records
// are when requests arrived, not when the worker's busy event loop got round to them. Prints
// {"url": …} once listening; on "count" (stdin) prints {"count": n}; on "report" prints {"times": [...]}
// (receive times, ms) and exits.
import { createInterface } from 'node:readline';
import { startFakeCloudApi } from '../src/channels/whatsapp-cloud/fake-cloud-api.js';

const fake = await startFakeCloudApi();
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'count') process.stdout.write(`${JSON.stringify({ count: fake.sent.length })}\n`);
  if (line.trim() !== 'report') continue;
  // Exit only once the (possibly large) report is flushed: a pipe write is asynchronous, and exit would cut it.
  await new Promise<void>((r) =>
    process.stdout.write(`${JSON.stringify({ times: fake.sent.map((s) => s.at) })}\n`, () => r()),
  );
  await fake.close();
  process.exit(0);
}
