// A tiny node:http server on 127.0.0.1 that records raw request bodies, to receive webhooks in tests.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  raw: Buffer;
  headers: IncomingHttpHeaders;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Resolves once `n` requests have arrived; rejects after `guardMs` so a bug fails instead of hanging. */
  waitFor(n: number, guardMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(
  reply: { status?: number; body?: string; contentType?: string } = {},
): Promise<Receiver> {
  const received: Received[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        raw: Buffer.concat(chunks),
        headers: req.headers,
      });
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/plain' });
      res.end(reply.body ?? 'ok');
      const ready = waiters.filter((w) => received.length >= w.n);
      waiters = waiters.filter((w) => received.length < w.n);
      for (const w of ready) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    waitFor(n, guardMs = 5000) {
      if (received.length >= n) return Promise.resolve(received.slice(0, n));
      return new Promise((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`expected ${n} requests, got ${received.length}`)), guardMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(guard);
            resolve(received.slice(0, n));
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
