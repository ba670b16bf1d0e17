import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { forEachDialect } from '../helpers/db.js';
import { buildTestApp, PHONE_A, PHONE_B, WEB_EVIDENCE, type TestApp } from '../helpers/http.js';

// A small deterministic generator (no Math.random: the same data every run).
function prng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

const TYPES = ['opt_in', 'opt_out', 'confirmation_sent', 'confirmation_failed', 'confirmed', 'erased'];
const CHANNELS = ['web', 'whatsapp', 'sms', 'api'];
const ACTIONS = ['checked_box', 'sent_keyword', 'message_outcome'];
const TOPICS = [[], ['delivery'], ['billing'], ['delivery', 'billing']];
// Around the clock change in Europe/London (29 March 2026, 01:00 UTC).
const START = Date.parse('2026-03-20T00:00:00Z');
const SPAN = 20 * 86_400_000;

interface Ev {
  type: string;
  channel: string;
  action: string;
  topics: string[];
  at: number;
  lang: string | null;
  person: string;
}

forEachDialect('Reports: every figure matches a count made from the raw rows', (db) => {
  let t: TestApp;
  let a: { id: string; key: string; textHash: string };
  const events: Ev[] = [];
  const refused: { at: number; reason: string }[] = [];
  before(async () => {
    t = await buildTestApp(db());
    a = await t.newBusiness('Reports');
    const rnd = prng(11);
    const rows = [];
    for (let i = 0; i < 3000; i++) {
      const e: Ev = {
        type: TYPES[Math.floor(rnd() * TYPES.length)]!,
        channel: CHANNELS[Math.floor(rnd() * CHANNELS.length)]!,
        action: ACTIONS[Math.floor(rnd() * ACTIONS.length)]!,
        topics: TOPICS[Math.floor(rnd() * TOPICS.length)]!,
        at: START + Math.floor(rnd() * SPAN),
        lang: rnd() < 0.5 ? 'en' : null,
        person: `per_gen${i % 200}`,
      };
      events.push(e);
      rows.push({
        business_id: a.id,
        id: `evt_gen${String(i).padStart(6, '0')}`,
        person_id: e.person,
        seq: i,
        type: e.type,
        scope: e.topics.length ? 'topics' : 'all',
        topic_keys: JSON.stringify(e.topics),
        channel: e.channel,
        action: e.action,
        text_hash: e.lang ? a.textHash : null,
        occurred_at: e.at,
        recorded_at: e.at,
        source_ref: null,
        actor: 'test',
        evidence_hash: 'x',
        prev_hash: null,
        hash: 'x',
        occurred_precision_ms: null,
      });
    }
    for (let i = 0; i < rows.length; i += 200)
      await t.ctx.database.db
        .insertInto('consent_events')
        .values(rows.slice(i, i + 200))
        .execute();
    const msgs = [];
    for (let i = 0; i < 300; i++) {
      const at = START + Math.floor(rnd() * SPAN);
      const reason = ['NO_CONSENT', 'QUIET_HOURS', 'FREQUENCY_CAP'][i % 3]!;
      refused.push({ at, reason });
      msgs.push({
        business_id: a.id,
        id: `msg_gen${String(i).padStart(6, '0')}`,
        person_id: 'per_gen1',
        topic_id: null,
        kind: 'notification',
        status: 'refused',
        payload: '{}',
        idempotency_key: null,
        related_event_id: null,
        not_before: at,
        attempts: 1,
        lease_owner: null,
        lease_until: null,
        provider_message_id: null,
        error_code: reason,
        error_detail: 'x',
        status_at: null,
        created_at: at,
        updated_at: at,
        sent_at: null,
      });
    }
    await t.ctx.database.db.insertInto('messages').values(msgs).execute();
  });
  after(async () => {
    await t.app.close();
  });

  // The reference: wall-clock buckets computed independently, by formatting each instant's local date.
  const localDay = (ms: number, tz: string) =>
    new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
      new Date(ms),
    );
  const localHour = (ms: number, tz: string) =>
    new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    }).format(new Date(ms));
  const FIELD: Record<string, string> = {
    opt_in: 'optIns',
    opt_out: 'optOuts',
    confirmation_sent: 'confirmationsSent',
    confirmation_failed: 'confirmationsFailed',
  };

  for (const groupBy of [undefined, 'channel', 'topic', 'action', 'language'] as const) {
    for (const [bucket, tz] of [
      ['day', 'Europe/London'],
      ['hour', 'Europe/London'],
      ['day', 'Asia/Kolkata'],
      ['week', 'America/New_York'],
    ] as const) {
      it(`events by ${bucket} in ${tz}, grouped by ${groupBy ?? 'nothing'}`, async () => {
        const from = '2026-03-22';
        const to = '2026-04-05';
        const r = await t.call(
          'GET',
          `/v1/reports/events?from=${from}&to=${to}&bucket=${bucket}&tz=${encodeURIComponent(tz)}${groupBy ? `&groupBy=${groupBy}` : ''}`,
          a.key,
        );
        assert.equal(r.statusCode, 200, r.body);
        const body = r.json() as { series: { key: string | null; points: Record<string, number | string>[] }[] };
        const fromMs = Date.parse(body.series.length ? (r.json().from as string) : '');
        const toMs = Date.parse(r.json().to as string);
        // Expected: count the raw events in range by (group key, local bucket label, field).
        const label = (ms: number) => (bucket === 'hour' ? localHour(ms, tz) : localDay(ms, tz));
        const want = new Map<string, number>();
        for (const e of events) {
          if (e.at < fromMs || e.at >= toMs || !FIELD[e.type]) continue;
          const keys: (string | null)[] =
            groupBy === 'channel'
              ? [e.channel]
              : groupBy === 'action'
                ? [e.action]
                : groupBy === 'language'
                  ? [e.lang]
                  : groupBy === 'topic'
                    ? e.topics.length
                      ? e.topics
                      : [null]
                    : [null];
          for (const k of keys) {
            // A week bucket is named by the local date of its Monday: find it from the point starts below.
            const id = `${k}|${bucket === 'week' ? 'w' : label(e.at)}|${FIELD[e.type]}`;
            want.set(id, (want.get(id) ?? 0) + 1);
          }
        }
        const got = new Map<string, number>();
        let total = 0;
        for (const s of body.series) {
          for (const p of s.points) {
            for (const f of Object.values(FIELD)) {
              const n = p[f] as number;
              total += n;
              if (!n) continue;
              const id = `${s.key}|${bucket === 'week' ? 'w' : label(Date.parse(p.start as string))}|${f}`;
              got.set(id, (got.get(id) ?? 0) + n);
            }
          }
        }
        assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()));
        assert.ok(total > 0);
        if (bucket === 'day' && tz === 'Europe/London') {
          // 29 March 2026 is a 23-hour day in London: its bucket starts at 00:00 GMT and the next at 00:00 BST.
          const starts = body.series[0]!.points.map((p) => p.start);
          assert.ok(starts.includes('2026-03-29T00:00:00.000Z'));
          assert.ok(starts.includes('2026-03-29T23:00:00.000Z'));
        }
        if (bucket === 'week') {
          // Weeks start on Monday at local midnight; each event is in the week whose start precedes it.
          for (const p of body.series[0]!.points)
            assert.equal(
              new Intl.DateTimeFormat('en-GB', {
                timeZone: tz,
                weekday: 'short',
                hour: '2-digit',
                hourCycle: 'h23',
              }).format(new Date(p.start as string)),
              'Mon, 00',
            );
        }
      });
    }
  }

  it('refusals by reason and day match the refused messages', async () => {
    const r = await t.call(
      'GET',
      '/v1/reports/refusals?from=2026-03-20&to=2026-04-09&bucket=day&tz=Europe/London',
      a.key,
    );
    assert.equal(r.statusCode, 200, r.body);
    const want = new Map<string, number>();
    for (const x of refused)
      want.set(
        `${x.reason}|${localDay(x.at, 'Europe/London')}`,
        (want.get(`${x.reason}|${localDay(x.at, 'Europe/London')}`) ?? 0) + 1,
      );
    const got = new Map<string, number>();
    for (const s of r.json().series as { key: string; points: { start: string; count: number }[] }[]) {
      for (const p of s.points)
        if (p.count) got.set(`${s.key}|${localDay(Date.parse(p.start), 'Europe/London')}`, p.count);
    }
    assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()));
  });

  it('totals per topic follow the consent state; funnel counts opt-ins per channel', async () => {
    const fresh = await t.newBusiness('Totals');
    for (const phone of [PHONE_A, PHONE_B]) {
      const r = await t.call('POST', '/v1/opt-ins', fresh.key, {
        person: { phone },
        topics: ['delivery'],
        channel: 'web',
        action: 'checked_box',
        textHash: fresh.textHash,
        evidence: WEB_EVIDENCE,
      });
      assert.equal(r.statusCode < 300, true, r.body);
    }
    await t.call('POST', '/v1/opt-outs', fresh.key, {
      person: { phone: PHONE_B },
      scope: 'topics',
      topics: ['delivery'],
      channel: 'api',
      action: 'staff_request',
    });
    const tot = (await t.call('GET', '/v1/reports/totals', fresh.key)).json();
    assert.equal(tot.people, 2);
    const delivery = tot.topics.find((x: { topic: string }) => x.topic === 'delivery');
    assert.equal(delivery.optedIn + delivery.pending, 1);
    assert.equal(delivery.optedOut, 1);
    const f = await t.call('GET', '/v1/reports/funnel?from=2000-01-01&to=2100-01-01', fresh.key);
    assert.equal(f.statusCode, 200, f.body);
    assert.deepEqual(f.json().rows, [{ channel: 'web', invited: 0, optedIn: 2, confirmed: 0 }]);
  });

  it('opt-out rate attributes each opt-out to the last notification within the window', async () => {
    const r = await t.call(
      'GET',
      '/v1/reports/opt-out-rate?from=2026-01-01&to=2026-12-31&withinHours=24&by=topic',
      a.key,
    );
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().rows, []);
  });

  it('bad input: 400 with the field, nothing read', async () => {
    for (const [url, field] of [
      ['/v1/reports/events?from=2026-03-01&to=2026-03-02&tz=Mars/Olympus', 'tz'],
      ['/v1/reports/events?from=yesterday&to=2026-03-02', 'from'],
      ['/v1/reports/events?from=2026-03-05&to=2026-03-02', 'to'],
      ['/v1/reports/events?from=2026-02-30&to=2026-03-02', 'from'],
      ['/v1/reports/events?from=2020-01-01&to=2026-03-02&bucket=hour', 'to'],
      ['/v1/reports/events?from=2026-03-01&to=2026-03-02&bucket=month', 'bucket'],
      ['/v1/reports/events?from=2026-03-01&to=2026-03-02&groupBy=colour', 'groupBy'],
      ['/v1/reports/opt-out-rate?from=2026-03-01&to=2026-03-02&withinHours=0', 'withinHours'],
      ['/v1/reports/refusals?to=2026-03-02', 'from'],
    ] as const) {
      const r = await t.call('GET', url, a.key);
      assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
      assert.equal(r.json().code, 'VALIDATION_FAILED');
      assert.ok(
        (r.json().errors as { field: string }[]).some((e) => e.field.includes(field)),
        `${url}: ${r.body}`,
      );
    }
  });

  it('is business-scoped: another business sees none of these events', async () => {
    const other = await t.newBusiness('Other');
    const r = (await t.call('GET', '/v1/reports/events?from=2026-03-20&to=2026-04-09', other.key)).json();
    assert.equal(
      r.series[0].points.reduce((s: number, p: { optIns: number }) => s + p.optIns, 0),
      0,
    );
  });
});
