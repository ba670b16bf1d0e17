import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { lookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface SignedPost {
  url: string;
  secret: string;
  msgId: string;
  /** Signing time (epoch ms), from the injected clock. */
  at: number;
  body: string;
  timeoutMs: number;
  /** Refuses an address the host resolved to (the SSRF rule), or null to allow it. */
  refuseAddress: (address: string) => string | null;
}

export interface PostResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** The three Standard Webhooks headers, signed by the reference library. */
export function signedHeaders(secret: string, msgId: string, at: number, body: string): Record<string, string> {
  const ts = new Date(Math.floor(at / 1000) * 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at / 1000)),
    'webhook-signature': new Webhook(secret).sign(msgId, ts, body),
  };
}

/**
 * POSTs one signed delivery to exactly the registered URL: redirects are not followed (a 3xx is a failure),
 * the connection goes to an address checked at connect time (the lookup below, so DNS rebinding between the
 * check and the connect is not possible), the whole exchange is bounded by `timeoutMs` and at most 64 KB of
 * the response body is read. 2xx is success.
 */
export function postSigned(p: SignedPost): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    let u: URL;
    try {
      u = new URL(p.url);
    } catch {
      return done({ ok: false, status: null, error: 'invalid URL' });
    }
    const checkedLookup: LookupFunction = (host, opts, cb) => {
      lookup(host, { ...opts, all: true }, (err, addrs) => {
        if (err) return cb(err, '', 4);
        const list = addrs as unknown as { address: string; family: number }[];
        for (const a of list) {
          const why = p.refuseAddress(a.address);
          if (why) return cb(Object.assign(new Error(why), { code: 'EREFUSED_TARGET' }), '', 4);
        }
        if ((opts as { all?: boolean }).all) return (cb as unknown as (e: null, a: typeof list) => void)(null, list);
        cb(null, list[0]!.address, list[0]!.family);
      });
    };
    const literal = u.hostname.replace(/^\[|\]$/g, '');
    const why = /^[\d.]+$|:/.test(literal) ? p.refuseAddress(literal) : null;
    if (why) return done({ ok: false, status: null, error: why });
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: 'POST',
        // A fresh connection per delivery: every connect goes through the checked lookup.
        agent: false,
        lookup: checkedLookup,
        timeout: p.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Optline-Webhooks/1',
          'content-length': Buffer.byteLength(p.body),
          ...signedHeaders(p.secret, p.msgId, p.at, p.body),
        },
      },
      (res: IncomingMessage) => {
        let read = 0;
        res.on('data', (c: Buffer) => {
          read += c.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const finish = () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          done({
            ok,
            status,
            error: ok ? null : status >= 300 && status < 400 ? `redirect (${status}) not followed` : `HTTP ${status}`,
          });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error('timed out'));
    }, p.timeoutMs);
    timer.unref();
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: Error) => {
      clearTimeout(timer);
      done({ ok: false, status: null, error: e.message.slice(0, 200) });
    });
    req.on('close', () => clearTimeout(timer));
    req.end(p.body);
  });
}
