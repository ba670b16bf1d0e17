import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KEYWORD_REPLIES, renderKeywordReply } from '../../../src/domain/chat/keyword-replies.js';
import {
  CORE_KEYWORDS,
  DEFAULT_KEYWORD_PACKS,
  KEYWORD_LANGUAGES,
  createKeywordMatcher,
} from '../../../src/domain/chat/keywords.js';
import type { KeywordKind } from '../../../src/domain/chat/keywords.js';

const KINDS: KeywordKind[] = ['opt_out', 'opt_in', 'help'];
const vars = { business: 'Acme Bakery' };

describe('default keyword replies', () => {
  it('exist for exactly the keyword pack languages', () => {
    assert.deepEqual(Object.keys(DEFAULT_KEYWORD_REPLIES), [...KEYWORD_LANGUAGES]);
  });

  for (const language of KEYWORD_LANGUAGES) {
    for (const kind of KINDS) {
      it(`${language} ${kind}: names the business and WhatsApp, and nothing is left unfilled`, () => {
        const text = renderKeywordReply(kind, language, vars);
        assert.equal(text, DEFAULT_KEYWORD_REPLIES[language]![kind].replaceAll('{business}', 'Acme Bakery'));
        assert.ok(text.includes('Acme Bakery'), text);
        assert.ok(text.includes('WhatsApp'), text);
        assert.ok(!/[{}]/.test(text), text);
        if (language !== 'en') assert.notEqual(text, renderKeywordReply(kind, 'en', vars), 'translated');
      });
    }

    it(`${language}: says how to come back after an opt-out, and how to stop otherwise`, () => {
      assert.match(renderKeywordReply('opt_out', language, vars), /\bSTART\b/);
      assert.match(renderKeywordReply('opt_in', language, vars), /\bSTOP\b/);
      assert.match(renderKeywordReply('help', language, vars), /\bSTOP\b/);
    });
  }

  it('only names keywords that always work, whatever the business disabled', () => {
    // Every keyword of every pack disabled: what the replies name must still act.
    const everything = Object.values(DEFAULT_KEYWORD_PACKS).flatMap((p) => [...p.optOut, ...p.optIn, ...p.help]);
    const m = createKeywordMatcher({ languages: ['en'], disabled: everything });
    assert.ok(CORE_KEYWORDS.opt_in.includes('START') && CORE_KEYWORDS.opt_out.includes('STOP'));
    assert.deepEqual(m('START'), { type: 'match', kind: 'opt_in', keyword: 'START', language: 'en', rule: 'keyword' });
    assert.deepEqual(m('STOP'), { type: 'match', kind: 'opt_out', keyword: 'STOP', language: 'en', rule: 'keyword' });
  });

  it('has the English texts the policy describes', () => {
    assert.equal(
      renderKeywordReply('opt_out', 'en', vars),
      'You will no longer receive WhatsApp messages from Acme Bakery. Reply START to subscribe again.',
    );
  });

  it('is frozen', () => {
    assert.throws(() => {
      (DEFAULT_KEYWORD_REPLIES.en as { help: string }).help = 'changed';
    }, TypeError);
  });
});

describe('renderKeywordReply', () => {
  const cases: [string, KeywordKind, string, string][] = [
    ['an unknown language falls back to English', 'opt_out', 'nl', 'en'],
    ['an empty language falls back to English', 'help', '', 'en'],
    ['a regional code uses its base language', 'opt_in', 'pt-BR', 'pt'],
    ['an underscore regional code too', 'opt_out', 'es_MX', 'es'],
    ['codes ignore case', 'help', 'FR', 'fr'],
    ['a prototype name is just unknown', 'help', 'constructor', 'en'],
  ];
  for (const [name, kind, language, expected] of cases) {
    it(name, () => {
      assert.equal(renderKeywordReply(kind, language, vars), renderKeywordReply(kind, expected, vars));
    });
  }

  it('uses a business override for the language and kind', () => {
    const overrides = { es: { opt_out: 'Listo, {business} no te escribirá más.' } };
    assert.equal(renderKeywordReply('opt_out', 'es', vars, overrides), 'Listo, Acme Bakery no te escribirá más.');
    assert.equal(renderKeywordReply('opt_out', 'es-AR', vars, overrides), 'Listo, Acme Bakery no te escribirá más.');
    // Other kinds and languages keep their defaults.
    assert.equal(renderKeywordReply('help', 'es', vars, overrides), renderKeywordReply('help', 'es', vars));
    assert.equal(renderKeywordReply('opt_out', 'pt', vars, overrides), renderKeywordReply('opt_out', 'pt', vars));
  });

  it('uses an override for a language without defaults', () => {
    const overrides = { nl: { help: '{business}: stuur STOP om af te melden.' } };
    assert.equal(renderKeywordReply('help', 'nl', vars, overrides), 'Acme Bakery: stuur STOP om af te melden.');
    assert.equal(renderKeywordReply('opt_out', 'nl', vars, overrides), renderKeywordReply('opt_out', 'en', vars));
  });

  it("falls back to the business's English override before the default English", () => {
    const overrides = { en: { opt_in: 'Welcome back to {business}!' } };
    assert.equal(renderKeywordReply('opt_in', 'nl', vars, overrides), 'Welcome back to Acme Bakery!');
    assert.equal(renderKeywordReply('opt_in', 'de', vars, overrides), renderKeywordReply('opt_in', 'de', vars));
  });

  it('replaces every {business} and nothing else, without escaping', () => {
    const overrides = { en: { help: '{business} / {business} / {name} / {Business}' } };
    assert.equal(
      renderKeywordReply('help', 'en', { business: 'Tom & Jerry <Ltd>' }, overrides),
      'Tom & Jerry <Ltd> / Tom & Jerry <Ltd> / {name} / {Business}',
    );
  });

  it('inserts names with $ patterns as written', () => {
    for (const business of ['A$&B', "$'", '$`', '$$', '$1']) {
      assert.ok(renderKeywordReply('opt_out', 'en', { business }).includes(`from ${business}.`), business);
    }
  });

  it('leaves a template without the placeholder unchanged', () => {
    assert.equal(
      renderKeywordReply('help', 'en', vars, { en: { help: 'Reply STOP to stop.' } }),
      'Reply STOP to stop.',
    );
  });
});
