import { it } from 'node:test';
import assert from 'node:assert/strict';
import {
  confirmReplyId,
  dismissReplyId,
  notMeReplyId,
  optInReplyId,
  optOutAllReplyId,
  optOutTopicReplyId,
  parseChatAction,
} from '../../../src/domain/chat/actions.js';
import { topicsAgreedAfter } from '../../../src/domain/consent/restore-after-stop.js';

const HASH = 'a'.repeat(64);
const EVT = 'evt_01hx0000000000000000000000';

it('reads back every reply id it builds, and nothing else', () => {
  assert.deepEqual(parseChatAction(optInReplyId(HASH)), { type: 'optin', textHash: HASH });
  assert.deepEqual(parseChatAction(optOutAllReplyId()), { type: 'optout_all' });
  assert.deepEqual(parseChatAction(optOutTopicReplyId('delivery')), { type: 'optout_topic', topic: 'delivery' });
  assert.deepEqual(parseChatAction(confirmReplyId(EVT)), { type: 'confirm', eventId: EVT });
  assert.deepEqual(parseChatAction(notMeReplyId(EVT)), { type: 'notme', eventId: EVT });
  assert.deepEqual(parseChatAction(dismissReplyId()), { type: 'dismiss' });
  for (const bad of [
    undefined,
    '',
    'OPTOUT_MARKETING',
    'optline:',
    'optline:optin:xyz',
    `optline:optin:${HASH}:extra`,
    'optline:optout:some',
    'optline:optout:topic:',
    'optline:optout:topic:Bad Key',
    'optline:confirm:evt_short',
    'optline:dismiss:now',
    'OPTLINE:DISMISS',
    'optline:launch',
  ]) {
    assert.equal(parseChatAction(bad), null, String(bad));
  }
});

it('START gives back what was agreed before the STOP: opted in or pending, not what was refused or never chosen', () => {
  const ev = (id: string, type: string, topicKeys: string[], occurredAt: number) => ({
    id,
    type,
    topicKeys,
    occurredAt,
  });
  assert.deepEqual(topicsAgreedAfter([]), []);
  assert.deepEqual(
    topicsAgreedAfter([
      ev('1', 'opt_in', ['delivery', 'billing'], 1),
      ev('2', 'opt_out', ['billing'], 2),
      ev('3', 'opt_in', ['offers'], 3),
      ev('4', 'confirmation_sent', ['offers'], 4),
    ]),
    ['delivery', 'offers'],
  );
  // A late-recorded older opt-in does not beat a newer opt-out (same rule as the live projection).
  assert.deepEqual(topicsAgreedAfter([ev('1', 'opt_out', ['delivery'], 10), ev('2', 'opt_in', ['delivery'], 5)]), []);
  // Erasure forgets everything before it.
  assert.deepEqual(topicsAgreedAfter([ev('1', 'opt_in', ['delivery'], 1), ev('2', 'erased', [], 2)]), []);
});
