// sendSignedTwilioWebhook plays Twilio's side; a tiny server plays ours, verifying with verifyTwilioRequest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendSignedTwilioWebhook } from '../../../src/channels/twilio/fake-twilio-api.js';
import {
  computeTwilioSignature,
  verifyTwilioRequest,
  type TwilioParams,
} from '../../../src/channels/twilio/signature.js';
import { messagingResponse, TWIML_CONTENT_TYPE } from '../../../src/channels/twilio/twiml.js';

const TOKEN = 'webhook-test-token';
const SHARED = { KSrule1: 'rule-shared-key' };

function formParams(body: string): TwilioParams {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function startVerifyingServer() {
  const received: TwilioParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const { port } = server.address() as AddressInfo;
      const params = formParams(body);
      const ok = verifyTwilioRequest({
        authToken: TOKEN,
        url: `http://127.0.0.1:${port}${req.url ?? '/'}`,
        params,
        signature: header(req, 'x-twilio-signature'),
        rawBody: body,
        contentType: header(req, 'content-type'),
        signatureSettings: header(req, 'x-twilio-webhooks-signature-settings'),
        sharedKeys: SHARED,
      });
      if (!ok) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('bad signature');
        return;
      }
      received.push(params);
      res.writeHead(200, { 'content-type': TWIML_CONTENT_TYPE });
      res.end(messagingResponse(`got: ${String(params['Body'])}`));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const params = {
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  From: 'whatsapp:+5511999990000',
  To: 'whatsapp:+14155238886',
  Body: 'Parar & sair ✋',
};

test('a signed webhook verifies and the TwiML reply comes back', async (t) => {
  const srv = await startVerifyingServer();
  t.after(srv.close);
  const r = await sendSignedTwilioWebhook(`${srv.url}/twilio/inbound?tenant=acme`, params, TOKEN);
  assert.equal(r.status, 200);
  assert.equal(r.contentType, TWIML_CONTENT_TYPE);
  assert.equal(r.body, messagingResponse('got: Parar & sair ✋'));
  assert.deepEqual(srv.received, [params]);
});

test('wrong token, overridden signature, and a different URL are rejected', async (t) => {
  const srv = await startVerifyingServer();
  t.after(srv.close);
  assert.equal((await sendSignedTwilioWebhook(`${srv.url}/hook`, params, 'not-the-token')).status, 403);
  assert.equal(
    (await sendSignedTwilioWebhook(`${srv.url}/hook`, params, TOKEN, { signatureOverride: 'AAAA' })).status,
    403,
  );
  // Signed for one path, delivered to another (what a misconfigured proxy would do).
  const sigForOther = computeTwilioSignature(TOKEN, `${srv.url}/other`, params);
  assert.equal(
    (await sendSignedTwilioWebhook(`${srv.url}/hook`, params, TOKEN, { signatureOverride: sigForOther })).status,
    403,
  );
  assert.equal(srv.received.length, 0);
});

test('Webhook Rules: SHA-256 under the shared key with the settings header', async (t) => {
  const srv = await startVerifyingServer();
  t.after(srv.close);
  const ok = await sendSignedTwilioWebhook(`${srv.url}/hook`, params, SHARED.KSrule1, {
    algorithm: 'sha256',
    settingsHeader: 'key=KSrule1,algorithm=HMAC_SHA256',
  });
  assert.equal(ok.status, 200);
  const noHeader = await sendSignedTwilioWebhook(`${srv.url}/hook`, params, SHARED.KSrule1, { algorithm: 'sha256' });
  assert.equal(noHeader.status, 403);
  const wrongKeyId = await sendSignedTwilioWebhook(`${srv.url}/hook`, params, SHARED.KSrule1, {
    algorithm: 'sha256',
    settingsHeader: 'key=KSrule2,algorithm=HMAC_SHA256',
  });
  assert.equal(wrongKeyId.status, 403);
});
