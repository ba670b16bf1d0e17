import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type GateFacts } from '../../../src/domain/gate/decide.js';
import { DEFAULT_POLICY, mergePolicy, type QuietHours } from '../../../src/domain/gate/policy.js';
import { nextLocalMidnight } from '../../../src/domain/gate/quiet-hours.js';
import { timezoneOfNumber } from '../../../src/domain/gate/timezones.js';
import { numberTimezones } from '../../../src/lib/phone-timezones.js';
import { normalisePhone } from '../../../src/lib/phone.js';

/** The person as the stores create them: zone from the number's numbering plan, country from its parse. */
function personOf(phone: string): NonNullable<GateFacts['person']> {
  const r = normalisePhone(phone);
  assert.ok(r.ok);
  const timezone = timezoneOfNumber(numberTimezones(r.e164), r.country).timezone;
  return { id: 'per_1', erased: false, unreachable: false, timezone, country: r.country ?? null };
}
const quiet = (over: Partial<QuietHours> = {}): QuietHours => ({
  start: '21:00',
  end: '08:00',
  defaultTimezone: 'Europe/London',
  ...over,
});
const facts = (now: number, person: GateFacts['person'], q: QuietHours = quiet()): GateFacts => ({
  now,
  policy: { ...DEFAULT_POLICY, quietHours: q },
  topic: { id: 'top_1', key: 'delivery', category: 'utility', archived: false },
  person,
  suppressed: false,
  state: { status: 'opted_in', eventId: 'evt_1' },
  recentSends: [],
});

const NEW_YORK = ['+1 212 555 0100', '+1 202 555 0100'];
const LOS_ANGELES = ['+1 213 555 0100', '+1 415 555 0100'];

describe('quiet hours in the recipient zone the number tells', () => {
  it('a New York and a Los Angeles number get their own zones (not the business default)', () => {
    for (const n of NEW_YORK) assert.equal(personOf(n).timezone, 'America/New_York', n);
    for (const n of LOS_ANGELES) assert.equal(personOf(n).timezone, 'America/Los_Angeles', n);
  });

  it('New York and Los Angeles numbers defer at different UTC times, and the reason names the zone', () => {
    const at = Date.UTC(2026, 5, 2, 5, 0); // 01:00 in New York (EDT), 22:00 the day before in Los Angeles (PDT)
    for (const n of NEW_YORK) {
      const d = decide(facts(at, personOf(n)));
      assert.equal(d.outcome, 'defer');
      assert.equal(d.notBefore, Date.UTC(2026, 5, 2, 12, 0), '08:00 in New York');
      assert.equal(d.reasons[0]!.timezone, 'America/New_York');
      assert.match(d.reasons[0]!.message, /America\/New_York, the recipient's zone/);
    }
    for (const n of LOS_ANGELES) {
      const d = decide(facts(at, personOf(n)));
      assert.equal(d.notBefore, Date.UTC(2026, 5, 2, 15, 0), '08:00 in Los Angeles');
      assert.equal(d.reasons[0]!.timezone, 'America/Los_Angeles');
    }
    // 22:30 in New York, 19:30 in Los Angeles: one waits, the other goes.
    const evening = Date.UTC(2026, 5, 2, 2, 30);
    assert.equal(decide(facts(evening, personOf(NEW_YORK[0]!))).outcome, 'defer');
    assert.equal(decide(facts(evening, personOf(LOS_ANGELES[0]!))).outcome, 'allow');
  });

  it("a prefix spanning zones keeps the country's main zone if it is one of them, else the business default", () => {
    assert.equal(personOf('+44 7400 123456').timezone, 'Europe/London', 'UK mobiles: London, Guernsey, Isle of Man');
    assert.equal(personOf('+1 800 253 0000').timezone, null, 'toll-free: every North American zone');
    const d = decide(facts(Date.UTC(2026, 5, 2, 22, 0), personOf('+1 800 253 0000')));
    assert.equal(d.reasons[0]!.timezone, 'Europe/London');
    assert.match(d.reasons[0]!.message, /the business's default zone/);
  });

  it("a person's chosen zone is the one used", () => {
    const chosen = { ...personOf(NEW_YORK[0]!), timezone: 'Asia/Tokyo' };
    const d = decide(facts(Date.UTC(2026, 5, 2, 5, 0), chosen)); // 14:00 in Tokyo
    assert.equal(d.outcome, 'allow');
  });
});

describe('quiet hours on public holidays', () => {
  const holidays = quiet({ holidays: { recipientCountry: true } });

  it("a public holiday of the recipient's country is quiet all day, and the reason names it", () => {
    // Friday 3 July 2026, noon in New York: Independence Day (observed), then 4 July, then the night until 08:00.
    const d = decide(facts(Date.UTC(2026, 6, 3, 16, 0), personOf(NEW_YORK[0]!), holidays));
    assert.equal(d.outcome, 'defer');
    assert.equal(d.notBefore, Date.UTC(2026, 6, 5, 12, 0), '08:00 on 5 July in New York');
    const holiday = { country: 'US', date: '2026-07-03', name: 'Independence Day (substitute day)' };
    assert.deepEqual(d.reasons[0]!.holiday, holiday);
    assert.match(d.reasons[0]!.message, /public holiday in US: Independence Day/);
    // Without the holiday calendar, noon is not quiet; a day later (6 July) is no holiday.
    assert.equal(decide(facts(Date.UTC(2026, 6, 3, 16, 0), personOf(NEW_YORK[0]!))).outcome, 'allow');
    assert.equal(decide(facts(Date.UTC(2026, 6, 6, 16, 0), personOf(NEW_YORK[0]!), holidays)).outcome, 'allow');
  });

  it("the holiday is the recipient's local day: 20:00 UTC on 24 December is already Christmas in Auckland", () => {
    const nz = personOf('+64 9 300 1234');
    assert.equal(nz.timezone, 'Pacific/Auckland');
    const d = decide(facts(Date.UTC(2026, 11, 24, 20, 0), nz, holidays));
    assert.equal(d.reasons[0]!.holiday?.date, '2026-12-25');
    const ny = decide(facts(Date.UTC(2026, 11, 24, 20, 0), personOf(NEW_YORK[0]!), holidays));
    assert.equal(ny.outcome, 'allow', '15:00 on the 24th in New York');
  });

  it('listed countries count for every recipient', () => {
    const q = quiet({ holidays: { countries: ['GB'] } });
    // 25 May: Spring bank holiday in GB.
    const d = decide(facts(Date.UTC(2026, 4, 25, 12, 0), personOf(LOS_ANGELES[0]!), q));
    assert.equal(d.reasons[0]!.holiday?.country, 'GB');
  });

  it('the next local midnight holds across a clock change', () => {
    assert.equal(nextLocalMidnight(Date.UTC(2026, 2, 7, 17, 0), 'America/New_York'), Date.UTC(2026, 2, 8, 5, 0));
    assert.equal(nextLocalMidnight(Date.UTC(2026, 2, 8, 16, 0), 'America/New_York'), Date.UTC(2026, 2, 9, 4, 0));
  });

  it('the policy names holiday calendars by known country codes, each problem with its field', () => {
    const bad = mergePolicy(DEFAULT_POLICY, { quietHours: quiet({ holidays: { countries: ['XX', 'us'] } }) });
    assert.ok(!bad.ok);
    const fields = bad.problems.map((p) => p.field);
    assert.deepEqual(fields, ['policy.quietHours.holidays.countries[0]', 'policy.quietHours.holidays.countries[1]']);
    const empty = mergePolicy(DEFAULT_POLICY, { quietHours: quiet({ holidays: {} }) });
    assert.ok(!empty.ok);
    assert.deepEqual(
      empty.problems.map((p) => p.field),
      ['policy.quietHours.holidays'],
    );
    const both = quiet({ holidays: { recipientCountry: true, countries: ['DE'] } });
    assert.ok(mergePolicy(DEFAULT_POLICY, { quietHours: both }).ok);
  });
});
