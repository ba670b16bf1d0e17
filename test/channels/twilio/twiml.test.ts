import { test } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { messagingResponse, TWIML_CONTENT_TYPE, voiceGather, voiceSay } from '../../../src/channels/twilio/twiml.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>';

test('messagingResponse without a message is an empty Response', () => {
  assert.equal(messagingResponse(), `${DECL}<Response/>`);
  assert.equal(messagingResponse('   '), `${DECL}<Response/>`, 'blank text would send an empty SMS');
  assert.equal(messagingResponse(), new twilio.twiml.MessagingResponse().toString());
});

test('messagingResponse escapes <, & and > and matches twilio-node byte for byte', () => {
  const text = `You're unsubscribed from "Acme" <alerts> & offers. Reply START to resubscribe.`;
  const out = messagingResponse(text);
  assert.equal(
    out,
    `${DECL}<Response><Message>You're unsubscribed from "Acme" &lt;alerts&gt; &amp; offers. Reply START to resubscribe.</Message></Response>`,
  );
  const ref = new twilio.twiml.MessagingResponse();
  ref.message(text);
  assert.equal(out, ref.toString());
});

test('markup in a message cannot inject TwiML verbs', () => {
  const out = messagingResponse('</Message><Redirect>https://evil.example</Redirect><Message>');
  assert.equal(out.match(/<Redirect>/g), null);
  assert.equal((out.match(/<Message>/g) ?? []).length, 1);
});

test('characters XML cannot carry are dropped instead of breaking the document', () => {
  assert.equal(
    messagingResponse('a\u0001b\uFFFEc\uD800d 👋'),
    `${DECL}<Response><Message>abcd 👋</Message></Response>`,
  );
});

test('voiceGather builds a DTMF menu equal to twilio-node output', () => {
  const out = voiceGather({
    action: 'https://gw.example.com/ivr/consent?list=a&b=2',
    prompt: 'Press 1 for "updates" & offers.',
    language: 'en-GB',
    voice: 'alice',
    noInputSay: 'No choice <received>. Goodbye.',
  });
  const ref = new twilio.twiml.VoiceResponse();
  ref
    .gather({
      input: ['dtmf'],
      numDigits: 1,
      timeout: 5,
      action: 'https://gw.example.com/ivr/consent?list=a&b=2',
      method: 'POST',
    })
    .say({ voice: 'alice', language: 'en-GB' }, 'Press 1 for "updates" & offers.');
  ref.say({ voice: 'alice', language: 'en-GB' }, 'No choice <received>. Goodbye.');
  assert.equal(out, ref.toString());
  assert.match(out, /action="https:\/\/gw\.example\.com\/ivr\/consent\?list=a&amp;b=2"/);
});

test('voiceGather escapes quotes and brackets in attributes and honours numDigits/timeout', () => {
  const out = voiceGather({ action: `https://x.example/a?q="x"&r='y'<z>`, prompt: 'p', numDigits: 2, timeoutSec: 8 });
  assert.match(out, /action="https:\/\/x\.example\/a\?q=&quot;x&quot;&amp;r=&apos;y&apos;&lt;z&gt;"/);
  assert.match(out, /numDigits="2" timeout="8"/);
  assert.doesNotMatch(out, /<Say>p<\/Say><\/Gather><Say/, 'no fallback Say unless asked');
  assert.throws(() => voiceGather({ action: 'https://x', prompt: 'p', numDigits: 0 }), RangeError);
  assert.throws(() => voiceGather({ action: ' ', prompt: 'p' }), RangeError);
});

test('voiceSay hangs up by default and can leave the call open', () => {
  const ref = new twilio.twiml.VoiceResponse();
  ref.say({ language: 'pt-BR' }, 'Obrigado & até logo');
  ref.hangup();
  assert.equal(voiceSay('Obrigado & até logo', { language: 'pt-BR' }), ref.toString());
  assert.equal(voiceSay('Hi', { hangup: false }), `${DECL}<Response><Say>Hi</Say></Response>`);
});

test('content type is XML with a charset', () => {
  assert.equal(TWIML_CONTENT_TYPE, 'text/xml; charset=utf-8');
});
