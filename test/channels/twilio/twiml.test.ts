import { test } from 'node:test';
import assert from 'node:assert/strict';
import twilio from 'twilio';
import { messagingResponse, TWIML_CONTENT_TYPE, voiceScript } from '../../../src/channels/twilio/twiml.js';

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

test('a voice script is what twilio-node builds for the same verbs, escaped', () => {
  const out = voiceScript([
    {
      kind: 'gather',
      action: 'https://gw.example.com/ivr/consent?list=a&b=2',
      prompt: 'Press 1 for "updates" & offers.',
      language: 'en-GB',
      timeoutSec: 5,
    },
    { kind: 'say', text: 'No choice <received>.', language: 'en-GB', hangup: false },
    { kind: 'say', text: 'Obrigado & até logo', language: 'pt-BR', hangup: true },
  ]);
  const ref = new twilio.twiml.VoiceResponse();
  ref
    .gather({
      input: ['dtmf'],
      numDigits: 1,
      timeout: 5,
      action: 'https://gw.example.com/ivr/consent?list=a&b=2',
      method: 'POST',
    })
    .say({ language: 'en-GB' }, 'Press 1 for "updates" & offers.');
  ref.say({ language: 'en-GB' }, 'No choice <received>.');
  ref.say({ language: 'pt-BR' }, 'Obrigado & até logo');
  ref.hangup();
  assert.equal(out, ref.toString());
  assert.match(out, /action="https:\/\/gw\.example\.com\/ivr\/consent\?list=a&amp;b=2"/);
});

test('a voice script escapes quotes and brackets in attributes and refuses a bad gather', () => {
  const gather = { kind: 'gather' as const, prompt: 'p', language: 'en', timeoutSec: 8 };
  const out = voiceScript([{ ...gather, action: `https://x.example/a?q="x"&r='y'<z>` }]);
  assert.match(out, /action="https:\/\/x\.example\/a\?q=&quot;x&quot;&amp;r=&apos;y&apos;&lt;z&gt;"/);
  assert.match(out, /numDigits="1" timeout="8"/);
  assert.throws(() => voiceScript([{ ...gather, action: 'https://x', timeoutSec: 0 }]), RangeError);
  assert.throws(() => voiceScript([{ ...gather, action: ' ' }]), RangeError);
  assert.equal(voiceScript([]), `${DECL}<Response/>`);
});

test('content type is XML with a charset', () => {
  assert.equal(TWIML_CONTENT_TYPE, 'text/xml; charset=utf-8');
});
