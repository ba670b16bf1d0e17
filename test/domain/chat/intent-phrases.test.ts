import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_INTENT_PHRASES,
  DEFAULT_KEYWORD_PACKS,
  KEYWORD_LANGUAGES,
  createKeywordMatcher,
  validateKeywordConfig,
} from '../../../src/domain/chat/keywords.js';

describe('intent phrases', () => {
  it('every pack has its phrases, each a whole-message opt-out with the rule intent_phrase:<language> (or a pack keyword)', () => {
    assert.deepEqual(Object.keys(DEFAULT_INTENT_PHRASES), [...KEYWORD_LANGUAGES]);
    for (const lang of KEYWORD_LANGUAGES) {
      const m = createKeywordMatcher({ languages: [lang] });
      assert.ok(DEFAULT_INTENT_PHRASES[lang]!.length >= 8, lang);
      for (const phrase of DEFAULT_INTENT_PHRASES[lang]!) {
        for (const form of [phrase, phrase.toUpperCase(), ` ${phrase}!! `]) {
          const r = m(form);
          assert.equal(r.type === 'match' && r.kind, 'opt_out', form);
          assert.ok(r.type === 'match' && (r.rule === `intent_phrase:${lang}` || r.rule === 'keyword'), form);
        }
      }
    }
  });

  it('no phrase is an opt-in or help word of any pack', () => {
    const all = createKeywordMatcher();
    for (const p of Object.values(DEFAULT_KEYWORD_PACKS)) {
      for (const w of [...p.optIn, ...p.help]) {
        const r = all(w);
        assert.notEqual(r.type === 'match' && r.kind, 'opt_out', w);
      }
    }
  });

  it('inside a sentence a phrase is a mention with the rule keyword_in_sentence; accents and apostrophes do not matter', () => {
    const m = createKeywordMatcher();
    assert.deepEqual(m('please leave me alone about the refund'), {
      type: 'mention',
      kind: 'opt_out',
      keyword: 'leave me alone',
      language: 'en',
      rule: 'keyword_in_sentence',
    });
    assert.equal((m('non scrivetemi piu') as { rule?: string }).rule, 'intent_phrase:it');
    assert.equal((m('dont message me') as { rule?: string }).rule, 'intent_phrase:en');
  });

  it('opt-in keywords match with the STOP normalisation and carry their binding', () => {
    const m = createKeywordMatcher({
      optInKeywords: [{ keyword: 'JOIN', language: 'en', textHash: 'h', topics: ['delivery'] }],
    });
    assert.deepEqual(m(' Ｊｏｉｎ! '), {
      type: 'match',
      kind: 'opt_in',
      keyword: 'JOIN',
      language: 'en',
      rule: 'opt_in_keyword',
      optIn: { textHash: 'h', topics: ['delivery'] },
    });
    assert.equal(m('JOIN START').type, 'mention', 'two different opt-ins are not one clear request');
  });
});

describe('validateKeywordConfig: opt-in keywords, intent, countries', () => {
  const ok = { language: 'en', textHash: 'h', topics: ['delivery'] };
  const cases: [string, unknown, string[]][] = [
    [
      'an opt-out word of any pack',
      { languages: ['en'], optInKeywords: [{ ...ok, keyword: 'BERHENTI' }] },
      ['optInKeywords[0].keyword'],
    ],
    ['START', { optInKeywords: [{ ...ok, keyword: 'start' }] }, ['optInKeywords[0].keyword']],
    ['HELP', { optInKeywords: [{ ...ok, keyword: 'help' }] }, ['optInKeywords[0].keyword']],
    [
      'an opt-out extra',
      { extra: { optOut: ['HALT'] }, optInKeywords: [{ ...ok, keyword: 'halt' }] },
      ['optInKeywords[0].keyword'],
    ],
    [
      'the same keyword twice',
      {
        optInKeywords: [
          { ...ok, keyword: 'JOIN' },
          { ...ok, keyword: 'J O I N' },
        ],
      },
      ['optInKeywords[1].keyword'],
    ],
    ['no topics', { optInKeywords: [{ ...ok, keyword: 'JOIN', topics: [] }] }, ['optInKeywords[0].topics']],
    [
      'a bad language',
      { optInKeywords: [{ ...ok, keyword: 'JOIN', language: 'English' }] },
      ['optInKeywords[0].language'],
    ],
    [
      'an intent phrase that is an opt-in word',
      { intent: { phrases: { en: ['subscribe'] } } },
      ['intent.phrases.en[0]'],
    ],
    ['a bad country', { countries: { brazil: { languages: ['pt'] } } }, ['countries.brazil']],
    ['an unknown pack for a country', { countries: { BR: { languages: ['xx'] } } }, ['countries.BR.languages[0]']],
    [
      'a custom keyword with a bad language',
      { extra: { optOut: [{ keyword: 'CHAU', language: 'Spanish' }] } },
      ['extra.optOut[0].language'],
    ],
  ];
  for (const [name, config, fields] of cases) {
    it(`refuses ${name}`, () => {
      const r = validateKeywordConfig(config);
      assert.ok(!r.ok, name);
      assert.deepEqual(
        r.errors.map((e) => e.field),
        fields,
      );
    });
  }
  it('accepts a full setting', () => {
    const r = validateKeywordConfig({
      languages: ['en'],
      extra: { optOut: [{ keyword: 'CHAU', language: 'es' }] },
      countries: { BR: { languages: ['pt'] } },
      intent: { phrases: { en: ['enough texts'] }, disabled: ['remove me'] },
      optInKeywords: [{ ...ok, keyword: 'JOIN' }],
    });
    assert.ok(r.ok);
  });
});
