import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInboundMessage, parseVoiceCallback } from '../../../src/channels/twilio/payload.js';

const whatsapp = {
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  SmsMessageSid: 'SM0123456789abcdef0123456789abcdef',
  AccountSid: 'AC0123456789abcdef0123456789abcdef',
  MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
  From: 'whatsapp:+5511999990000',
  To: 'whatsapp:+14155238886',
  Body: ' Stop ',
  NumMedia: '0',
  ProfileName: 'Zoë',
  WaId: '5511999990000',
  MessageType: 'button',
  ButtonText: 'Stop promotions',
  ButtonPayload: 'OPTOUT_MARKETING',
  SomeFutureParam: 'ignored',
};

test('WhatsApp inbound: prefix removed, channel detected, optional fields kept, body untouched', () => {
  const r = parseInboundMessage(whatsapp);
  assert.deepEqual(r, {
    ok: true,
    value: {
      messageSid: 'SM0123456789abcdef0123456789abcdef',
      accountSid: 'AC0123456789abcdef0123456789abcdef',
      messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      from: '+5511999990000',
      to: '+14155238886',
      channel: 'whatsapp',
      body: ' Stop ',
      buttonPayload: 'OPTOUT_MARKETING',
      buttonText: 'Stop promotions',
      profileName: 'Zoë',
      waId: '5511999990000',
      numMedia: 0,
    },
  });
});

test('SMS inbound with OptOutType, short-code To, repeated params take the first value', () => {
  const r = parseInboundMessage({
    MessageSid: ['SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'],
    From: '+447700900123',
    To: '12345',
    Body: 'STOP',
    OptOutType: 'stop',
    NumMedia: '2',
  });
  assert.ok(r.ok);
  assert.equal(r.value.messageSid, 'SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
  assert.equal(r.value.channel, 'sms');
  assert.equal(r.value.from, '+447700900123');
  assert.equal(r.value.to, '12345');
  assert.equal(r.value.optOutType, 'STOP');
  assert.equal(r.value.numMedia, 2);
  assert.equal('profileName' in r.value, false, 'absent optional fields are not set');
});

test('OptOutType START and HELP recognised; unknown values dropped', () => {
  const base = { MessageSid: 'SM1', From: '+14155550100', To: '+14155550199', Body: 'x' };
  for (const t of ['START', 'HELP'] as const) {
    const r = parseInboundMessage({ ...base, OptOutType: t });
    assert.ok(r.ok && r.value.optOutType === t);
  }
  const r = parseInboundMessage({ ...base, OptOutType: 'SOMETHING_NEW' });
  assert.ok(r.ok);
  assert.equal(r.value.optOutType, undefined);
});

test('media-only message has an empty body', () => {
  const r = parseInboundMessage({ MessageSid: 'MM1', From: '+14155550100', To: '+14155550199', NumMedia: '1' });
  assert.ok(r.ok);
  assert.equal(r.value.body, '');
  assert.equal(r.value.numMedia, 1);
});

test('invalid inbound messages name the offending field', () => {
  const { MessageSid: _m, ...noSid } = whatsapp;
  const cases: Array<[Record<string, string>, string]> = [
    [noSid, 'MessageSid'],
    [{ ...whatsapp, MessageSid: '' }, 'MessageSid'],
    [{ ...whatsapp, MessageSid: 'SM<script>' }, 'MessageSid'],
    [{ ...whatsapp, From: '' }, 'From'],
    [{ ...whatsapp, From: 'whatsapp:5511999990000' }, 'From'],
    [{ ...whatsapp, From: 'messenger:123456' }, 'From'],
    [{ ...whatsapp, To: '+14155238886' }, 'To'], // channel mismatch
    [{ ...whatsapp, To: 'whatsapp:12345' }, 'To'], // WhatsApp has no short codes
    [{ ...whatsapp, NumMedia: '-1' }, 'NumMedia'],
  ];
  for (const [params, field] of cases) {
    const r = parseInboundMessage(params);
    assert.equal(r.ok, false, `expected failure for ${field}: ${JSON.stringify(params[field])}`);
    if (!r.ok) {
      assert.equal(r.field, field);
      assert.ok(r.message.length > 0);
    }
  }
});

test('voice callback: digits and status parsed', () => {
  const r = parseVoiceCallback({
    CallSid: 'CA0123456789abcdef0123456789abcdef',
    AccountSid: 'AC0123456789abcdef0123456789abcdef',
    From: '+14155550100',
    To: '+14155550199',
    Digits: '1',
    CallStatus: 'in-progress',
    Direction: 'inbound',
  });
  assert.deepEqual(r, {
    ok: true,
    value: {
      callSid: 'CA0123456789abcdef0123456789abcdef',
      from: '+14155550100',
      to: '+14155550199',
      digits: '1',
      callStatus: 'in-progress',
      accountSid: 'AC0123456789abcdef0123456789abcdef',
    },
  });
  const none = parseVoiceCallback({ CallSid: 'CA1', From: '+14155550100', To: '+14155550199', Digits: '' });
  assert.ok(none.ok);
  assert.equal('digits' in none.value, false);
});

test('voice callback failures', () => {
  const base = { CallSid: 'CA1', From: '+14155550100', To: '+14155550199' };
  const cases: Array<[Record<string, string>, string]> = [
    [{ From: base.From, To: base.To }, 'CallSid'],
    [{ ...base, From: 'anonymous' }, 'From'],
    [{ CallSid: 'CA1', From: base.From }, 'To'],
    [{ ...base, Digits: '1a' }, 'Digits'],
  ];
  for (const [params, field] of cases) {
    const r = parseVoiceCallback(params);
    assert.equal(r.ok, false, field);
    if (!r.ok) assert.equal(r.field, field);
  }
});
