import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CORE_KEYWORDS,
  DEFAULT_KEYWORD_PACKS,
  KEYWORD_LANGUAGES,
  createKeywordMatcher,
  normaliseKeywordText,
  validateKeywordConfig,
} from '../../../src/domain/chat/keywords.js';
import type { KeywordKind, KeywordPack, KeywordResult } from '../../../src/domain/chat/keywords.js';

const match = createKeywordMatcher();
const LISTS: [keyof Omit<KeywordPack, 'language'>, KeywordKind][] = [
  ['optOut', 'opt_out'],
  ['optIn', 'opt_in'],
  ['help', 'help'],
];

function titleCase(s: string): string {
  return s.toLowerCase().replace(/(^|\s)(\S)/gu, (_, sp: string, c: string) => sp + c.toUpperCase());
}

function accept(result: KeywordResult): { type: string; kind?: KeywordKind; keyword?: string } {
  return result.type === 'none' ? { type: 'none' } : { type: result.type, kind: result.kind, keyword: result.keyword };
}

describe('default keyword packs', () => {
  it('has exactly one pack per listed language, each naming its own language', () => {
    assert.deepEqual(Object.keys(DEFAULT_KEYWORD_PACKS), [...KEYWORD_LANGUAGES]);
    assert.deepEqual([...KEYWORD_LANGUAGES], ['en', 'es', 'pt', 'fr', 'de', 'it', 'id', 'hi']);
    for (const [code, p] of Object.entries(DEFAULT_KEYWORD_PACKS)) {
      assert.equal(p.language, code);
      for (const [list] of LISTS) assert.ok(p[list].length > 0, `${code}.${list} is empty`);
    }
  });

  it('contains the keywords the policy names', () => {
    const has = (lang: string, list: keyof Omit<KeywordPack, 'language'>, words: string[]) => {
      for (const w of words) assert.ok(DEFAULT_KEYWORD_PACKS[lang]![list].includes(w), `${lang}.${list} lacks ${w}`);
    };
    has('en', 'optOut', [
      'STOP',
      'STOPALL',
      'STOP ALL',
      'UNSUBSCRIBE',
      'CANCEL',
      'END',
      'QUIT',
      'OPTOUT',
      'OPT OUT',
      'REVOKE',
    ]);
    has('en', 'optIn', ['START', 'UNSTOP', 'SUBSCRIBE', 'OPT IN']);
    has('en', 'help', ['HELP', 'INFO']);
    has('es', 'optOut', ['BAJA', 'PARAR', 'DETENER', 'CANCELAR', 'ALTO', 'DAR DE BAJA']);
    has('es', 'optIn', ['ALTA', 'INICIAR', 'SUSCRIBIR']);
    has('pt', 'optOut', ['PARAR', 'SAIR', 'CANCELAR', 'DESCADASTRAR']);
    has('fr', 'optOut', ['ARRÊT', 'STOP', 'DÉSABONNER', 'DÉSINSCRIRE', 'ANNULER', 'DÉSINSCRIPTION']);
    has('de', 'optOut', ['STOPP', 'ABMELDEN', 'KÜNDIGEN', 'BEENDEN', 'ENDE']);
    has('it', 'optOut', ['ANNULLA', 'FERMA', 'BASTA', 'DISISCRIVI', 'CANCELLA']);
    has('id', 'optOut', ['BERHENTI', 'STOP', 'BATAL', 'KELUAR', 'HENTIKAN']);
    has('hi', 'optOut', ['रोकें', 'बंद', 'बंद करें', 'रद्द', 'STOP', 'BAND KARO', 'RUKO']);
    has('hi', 'optIn', ['शुरू']);
    has('hi', 'help', ['मदद']);
  });

  it('leaves every "yes" out of the opt-in lists (a bare yes answers questions, it is not consent)', () => {
    for (const yes of ['YES', 'Y', 'SI', 'SÍ', 'SIM', 'OUI', 'JA', 'SÌ', 'YA', 'हाँ', 'VOLTAR', 'DAFTAR']) {
      assert.equal(match(yes).type, 'none', yes);
    }
  });

  it('has every core keyword in the English pack with the same kind', () => {
    for (const [list, kind] of LISTS) {
      for (const k of CORE_KEYWORDS[kind]) assert.ok(DEFAULT_KEYWORD_PACKS.en![list].includes(k), k);
    }
  });

  it('never gives one normalised keyword two kinds across packs', () => {
    const seen = new Map<string, string>();
    for (const p of Object.values(DEFAULT_KEYWORD_PACKS)) {
      for (const [list, kind] of LISTS) {
        for (const k of p[list]) {
          const key = normaliseKeywordText(k);
          const before = seen.get(key);
          assert.ok(before === undefined || before.startsWith(kind), `${k} (${p.language}) is also ${before}`);
          seen.set(key, `${kind} in ${p.language}`);
        }
      }
    }
  });

  it('is frozen, so one business cannot change the defaults of all', () => {
    assert.throws(() => (DEFAULT_KEYWORD_PACKS.en!.optOut as string[]).push('NOPE'), TypeError);
    assert.throws(() => {
      (DEFAULT_KEYWORD_PACKS.en as { optOut: string[] }).optOut = [];
    }, TypeError);
    assert.throws(() => {
      (DEFAULT_KEYWORD_PACKS as Record<string, KeywordPack>).xx = DEFAULT_KEYWORD_PACKS.en!;
    }, TypeError);
  });
});

describe('every pack keyword matches in any case', () => {
  for (const code of KEYWORD_LANGUAGES) {
    it(`${code}`, () => {
      // One pack only, so the reported language must be this pack's even for shared words like STOP.
      const only = createKeywordMatcher({ languages: [code] });
      const p = DEFAULT_KEYWORD_PACKS[code]!;
      for (const [list, kind] of LISTS) {
        for (const k of p[list]) {
          for (const variant of [k, k.toLowerCase(), titleCase(k), ` ${k}. `]) {
            assert.deepEqual(
              only(variant),
              { type: 'match', kind, keyword: k, language: code, rule: 'keyword' },
              variant,
            );
            assert.deepEqual(accept(match(variant)), { type: 'match', kind, keyword: k }, `${variant}, all packs`);
          }
        }
      }
    });
  }
});

describe('whole-message matches after normalisation', () => {
  const cases: [string, KeywordKind, string][] = [
    ['STOP.', 'opt_out', 'STOP'],
    [' stop!! ', 'opt_out', 'STOP'],
    ['Stop 🛑', 'opt_out', 'STOP'],
    ['🛑 stop', 'opt_out', 'STOP'],
    ['stop🛑', 'opt_out', 'STOP'],
    ['STOP ✋🏽', 'opt_out', 'STOP'],
    ['STOP\uFE0F', 'opt_out', 'STOP'],
    ['STOP™', 'opt_out', 'STOP'],
    ['ＳＴＯＰ', 'opt_out', 'STOP'],
    ['ｓｔｏｐ！', 'opt_out', 'STOP'],
    ['𝐒𝐓𝐎𝐏', 'opt_out', 'STOP'],
    ['ⓢⓣⓞⓟ', 'opt_out', 'STOP'],
    ['S\u200BTOP', 'opt_out', 'STOP'],
    ['\u200Bstop\u200D', 'opt_out', 'STOP'],
    ['\uFEFFSTOP', 'opt_out', 'STOP'],
    ['\u202Bstop\u202C', 'opt_out', 'STOP'],
    ['\n\nSTOP\n', 'opt_out', 'STOP'],
    ['\tstop\r\n', 'opt_out', 'STOP'],
    ['\u00A0stop\u3000', 'opt_out', 'STOP'],
    ['"stop"', 'opt_out', 'STOP'],
    ['«stop»', 'opt_out', 'STOP'],
    ['(stop)', 'opt_out', 'STOP'],
    ['*STOP*', 'opt_out', 'STOP'],
    ['~stop~', 'opt_out', 'STOP'],
    ['stop...', 'opt_out', 'STOP'],
    ['S.T.O.P', 'opt_out', 'STOP'],
    ['s t o p', 'opt_out', 'STOP'],
    ['stop stop', 'opt_out', 'STOP'],
    ['STOP! STOP! STOP!', 'opt_out', 'STOP'],
    ['stop, unsubscribe', 'opt_out', 'STOP'],
    ['arrêt', 'opt_out', 'ARRÊT'],
    ['ARRET', 'opt_out', 'ARRÊT'],
    ['Arrêt !', 'opt_out', 'ARRÊT'],
    ['arre\u0302t', 'opt_out', 'ARRÊT'],
    ['désabonner', 'opt_out', 'DÉSABONNER'],
    ['DESABONNER', 'opt_out', 'DÉSABONNER'],
    ['desinscription', 'opt_out', 'DÉSINSCRIPTION'],
    ['kündigen', 'opt_out', 'KÜNDIGEN'],
    ['KUNDIGEN', 'opt_out', 'KÜNDIGEN'],
    ['kuendigen', 'opt_out', 'KUENDIGEN'],
    ['aufhören', 'opt_out', 'AUFHÖREN'],
    ['¡BAJA!', 'opt_out', 'BAJA'],
    ['dar de baja', 'opt_out', 'DAR DE BAJA'],
    ['DAR   DE\nBAJA', 'opt_out', 'DAR DE BAJA'],
    ['dardebaja', 'opt_out', 'DAR DE BAJA'],
    ['não quero mais', 'opt_out', 'NÃO QUERO MAIS'],
    ['NAO QUERO MAIS!', 'opt_out', 'NÃO QUERO MAIS'],
    ['começar', 'opt_in', 'COMEÇAR'],
    ['COMECAR', 'opt_in', 'COMEÇAR'],
    ['STOP ALL', 'opt_out', 'STOP ALL'],
    ['stop   all', 'opt_out', 'STOP ALL'],
    ['stop\tall', 'opt_out', 'STOP ALL'],
    ['stopall', 'opt_out', 'STOPALL'],
    ['opt-out', 'opt_out', 'OPT OUT'],
    ['Opt Out', 'opt_out', 'OPT OUT'],
    ['opt_in', 'opt_in', 'OPT IN'],
    ['बंद करें', 'opt_out', 'बंद करें'],
    ['बंद  करें', 'opt_out', 'बंद करें'],
    ['बंद करें।', 'opt_out', 'बंद करें'],
    ['बंदकरें', 'opt_out', 'बंद करें'],
    ['बंद', 'opt_out', 'बंद'],
    ['रोकें', 'opt_out', 'रोकें'],
    ['band karo', 'opt_out', 'BAND KARO'],
    ['Ruko!', 'opt_out', 'RUKO'],
    ['शुरू', 'opt_in', 'शुरू'],
    ['मदद?', 'help', 'मदद'],
    ['start', 'opt_in', 'START'],
    ['Unstop', 'opt_in', 'UNSTOP'],
    ['help?', 'help', 'HELP'],
    ['HELP HELP', 'help', 'HELP'],
    ['İNFO', 'help', 'INFO'],
  ];
  for (const [text, kind, keyword] of cases) {
    it(`${JSON.stringify(text)} → ${kind} ${keyword}`, () => {
      assert.deepEqual(accept(match(text)), { type: 'match', kind, keyword });
    });
  }
});

describe('messages that are not keywords', () => {
  const cases: string[] = [
    '',
    '   ',
    '\n',
    'hi',
    'hello there',
    'ok',
    'thanks!',
    'stopwatch',
    'unstoppable',
    'stops',
    'nonstop',
    'cancelled',
    'helpful',
    'backstop',
    '🛑',
    '✋',
    '🛑🛑🛑',
    '✋🏽',
    '👍',
    '!!!',
    '...',
    '123',
    'Straße',
    'para',
    'no más',
    'não quero',
    'tolong',
    'storniert',
  ];
  for (const text of cases) {
    it(`${JSON.stringify(text)} → none`, () => {
      assert.deepEqual(match(text), { type: 'none' });
    });
  }
});

describe('keywords inside longer messages are mentions, for review', () => {
  const cases: [string, KeywordKind, string][] = [
    ["don't stop my order", 'opt_out', 'STOP'],
    ['don’t stop my order', 'opt_out', 'STOP'],
    // An intent phrase inside a sentence is a mention too, reported as the phrase.
    ['please stop texting me', 'opt_out', 'stop texting me'],
    ['stop please', 'opt_out', 'STOP'],
    ['STOP sending me the invoice 🛑', 'opt_out', 'STOP'],
    ['can I cancel my order?', 'opt_out', 'CANCEL'],
    ['I want to stop all of them', 'opt_out', 'STOP ALL'],
    ['how do I opt out', 'opt_out', 'OPT OUT'],
    ['quiero dar de baja mi cuenta', 'opt_out', 'DAR DE BAJA'],
    ['je veux arrêter les messages', 'opt_out', 'ARRÊTER'],
    ['कृपया मैसेज बंद करें', 'opt_out', 'बंद करें'],
    ['how do I start?', 'opt_in', 'START'],
    ['I need help with my order', 'help', 'HELP'],
    // Several kinds: the opt-out is what staff must see, wherever it is.
    ['start, stop', 'opt_out', 'STOP'],
    ['help stop', 'opt_out', 'STOP'],
    ['stop and start again', 'opt_out', 'STOP'],
    ['start or help?', 'opt_in', 'START'],
  ];
  for (const [text, kind, keyword] of cases) {
    it(`${JSON.stringify(text)} → mention ${kind} ${keyword}`, () => {
      assert.deepEqual(accept(match(text)), { type: 'mention', kind, keyword });
    });
  }

  it('finds keywords in very long messages', () => {
    const text = `${'word '.repeat(5000)}stop ${'word '.repeat(5000)}`;
    assert.deepEqual(accept(match(text)), { type: 'mention', kind: 'opt_out', keyword: 'STOP' });
  });
});

describe('normaliseKeywordText', () => {
  const cases: [string, string][] = [
    ['  ＳＴＯＰ  ', 'stop'],
    ['Arrêt!', 'arret'],
    ['STOP 🛑', 'stop'],
    ['🛑 stop', 'stop'],
    ['stop👍🏽now', 'stop now'],
    ['dar   de\n baja', 'dar de baja'],
    ["don't stop.", "don't stop"],
    ['¡BAJA!', 'baja'],
    ['«stop»', 'stop'],
    ['S\u200BTOP', 'stop'],
    ['KÜNDIGEN', 'kundigen'],
    ['Straße', 'strasse'],
    ['Ñandú Çava Øre', 'nandu cava øre'],
    ['🛑', ''],
    ['', ''],
    // Devanagari keeps its marks: they are vowels and nasals, not accents.
    ['बंद करें।', 'बंद करें'],
    ['रोकें', 'रोकें'],
    ['क़', 'क़'.normalize('NFKC')],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normaliseKeywordText(input), expected);
    });
  }

  it('keeps every Devanagari code point of the Hindi pack', () => {
    for (const k of DEFAULT_KEYWORD_PACKS.hi!.optOut.filter((w) => /\p{Script=Devanagari}/u.test(w))) {
      assert.equal(normaliseKeywordText(k), k.normalize('NFKC').toLowerCase(), k);
    }
  });
});

describe('business settings', () => {
  it('adds extra keywords of each kind, matched like the packs', () => {
    const m = createKeywordMatcher({ extra: { optOut: ['PAUSE', 'no more news'], optIn: ['RESUME'], help: ['MENU'] } });
    assert.deepEqual(m('pause!'), {
      type: 'match',
      kind: 'opt_out',
      keyword: 'PAUSE',
      language: 'en',
      rule: 'keyword',
    });
    assert.deepEqual(accept(m('No  more NEWS')), { type: 'match', kind: 'opt_out', keyword: 'no more news' });
    assert.deepEqual(accept(m('resume')), { type: 'match', kind: 'opt_in', keyword: 'RESUME' });
    assert.deepEqual(accept(m('Menu')), { type: 'match', kind: 'help', keyword: 'MENU' });
    assert.deepEqual(accept(m('please pause my messages')), { type: 'mention', kind: 'opt_out', keyword: 'PAUSE' });
    assert.equal(match('pause').type, 'none', 'extras belong to the business that set them');
  });

  it('gives extra keywords the first chosen language', () => {
    const m = createKeywordMatcher({ languages: ['es', 'en'], extra: { optOut: ['PAUSA'] } });
    assert.deepEqual(m('pausa'), { type: 'match', kind: 'opt_out', keyword: 'PAUSA', language: 'es', rule: 'keyword' });
  });

  it('uses only the chosen packs, plus the core English keywords', () => {
    const fr = createKeywordMatcher({ languages: ['fr'] });
    assert.deepEqual(fr('stop'), { type: 'match', kind: 'opt_out', keyword: 'STOP', language: 'fr', rule: 'keyword' });
    assert.deepEqual(fr('arret'), {
      type: 'match',
      kind: 'opt_out',
      keyword: 'ARRÊT',
      language: 'fr',
      rule: 'keyword',
    });
    assert.equal(fr('baja').type, 'none');
    assert.equal(fr('unstop').type, 'none');
    assert.deepEqual(fr('cancel'), {
      type: 'match',
      kind: 'opt_out',
      keyword: 'CANCEL',
      language: 'en',
      rule: 'keyword',
    });
    const none = createKeywordMatcher({ languages: [] });
    for (const [kind, list] of Object.entries(CORE_KEYWORDS)) {
      for (const k of list)
        assert.deepEqual(none(k), { type: 'match', kind, keyword: k, language: 'en', rule: 'keyword' });
    }
    assert.equal(none('arrêt').type, 'none');
  });

  it('disables pack keywords the business does not want', () => {
    const m = createKeywordMatcher({ disabled: ['band', 'Info', 'FIN'] });
    assert.equal(m('band').type, 'none');
    assert.equal(m('info').type, 'none');
    assert.equal(m('fin').type, 'none');
    assert.equal(m('band karo').type, 'match');
    assert.equal(m('help').type, 'match');
  });

  it('ignores attempts to disable a core keyword', () => {
    const everyCore = Object.values(CORE_KEYWORDS).flat();
    const m = createKeywordMatcher({
      languages: [],
      disabled: [...everyCore, ...everyCore.map((k) => ` ${k.toLowerCase()}! `)],
    });
    for (const k of everyCore) assert.equal(m(k).type, 'match', k);
  });

  it('keeps core keywords their meaning even if an extra list claims them', () => {
    // No packs, so the business's claim is the first candidate for each word and only the core rule decides.
    const m = createKeywordMatcher({ languages: [], extra: { optIn: ['STOP'], help: ['START'], optOut: ['HELP'] } });
    assert.deepEqual(accept(m('stop')), { type: 'match', kind: 'opt_out', keyword: 'STOP' });
    assert.deepEqual(accept(m('start')), { type: 'match', kind: 'opt_in', keyword: 'START' });
    assert.deepEqual(accept(m('help')), { type: 'match', kind: 'help', keyword: 'HELP' });
  });

  it('survives malformed stored settings instead of dropping every STOP', () => {
    const bad = {
      languages: 'en',
      extra: { optOut: 'PAUSE', optIn: [1, null] },
      disabled: [{}, 'STOP'],
    } as unknown as Parameters<typeof createKeywordMatcher>[0];
    const m = createKeywordMatcher(bad);
    assert.equal(m('stop').type, 'match');
    assert.equal(m('p').type, 'none', 'a string is not split into one-letter keywords');
    assert.equal(createKeywordMatcher({ extra: { optOut: ['🛑', ''] } })('🛑').type, 'none');
    assert.equal(createKeywordMatcher(null as unknown as undefined)('stop').type, 'match');
  });
});

describe('validateKeywordConfig', () => {
  it('accepts a missing or empty config', () => {
    assert.deepEqual(validateKeywordConfig(undefined), { ok: true, value: {} });
    assert.deepEqual(validateKeywordConfig({}), { ok: true, value: {} });
  });

  it('returns a clean value the matcher can use', () => {
    const r = validateKeywordConfig({
      languages: ['es', 'en', 'es'],
      extra: { optOut: ['PAUSA'], help: ['MENÚ'] },
      disabled: ['alto'],
    });
    assert.deepEqual(r, {
      ok: true,
      value: { languages: ['es', 'en'], extra: { optOut: ['PAUSA'], help: ['MENÚ'] }, disabled: ['alto'] },
    });
    assert.ok(r.ok);
    const m = createKeywordMatcher(r.value);
    assert.equal(m('pausa').type, 'match');
    assert.equal(m('alto').type, 'none');
  });

  it('allows an extra that reuses a disabled word or a word of a pack not in use', () => {
    assert.equal(validateKeywordConfig({ extra: { optIn: ['baja'] }, disabled: ['BAJA'] }).ok, true);
    assert.equal(validateKeywordConfig({ languages: ['en'], extra: { optIn: ['baja'] } }).ok, true);
    assert.equal(validateKeywordConfig({ extra: { optOut: ['baja', 'PARAR'] } }).ok, true, 'same kind is fine');
  });

  const cases: [string, unknown, string[]][] = [
    ['null', null, ['']],
    ['an array', [], ['']],
    ['a string', 'STOP', ['']],
    ['an unknown setting', { disable: ['x'] }, ['disable']],
    ['languages not a list', { languages: 'en' }, ['languages']],
    ['an unknown language', { languages: ['en', 'xx'] }, ['languages[1]']],
    ['a language that is not a string', { languages: [3] }, ['languages[0]']],
    ['a language code in the wrong case', { languages: ['EN'] }, ['languages[0]']],
    ['extra not an object', { extra: [] }, ['extra']],
    ['an unknown extra list', { extra: { optout: ['x'] } }, ['extra.optout']],
    ['extra list not a list', { extra: { optIn: 'RESUME' } }, ['extra.optIn']],
    ['an extra keyword not a string', { extra: { optOut: ['PAUSE', 'HALT', 3] } }, ['extra.optOut[2]']],
    ['an empty extra keyword', { extra: { optOut: ['PAUSE', 'HALT', ''] } }, ['extra.optOut[2]']],
    ['a blank extra keyword', { extra: { help: ['   '] } }, ['extra.help[0]']],
    ['an emoji-only extra keyword', { extra: { optOut: ['🛑'] } }, ['extra.optOut[0]']],
    ['a too long extra keyword', { extra: { optOut: ['x'.repeat(61)] } }, ['extra.optOut[0]']],
    [
      'too many extra keywords',
      { extra: { optOut: Array.from({ length: 101 }, (_, i) => `k${i}`) } },
      ['extra.optOut'],
    ],
    ['an opt-in that is a core opt-out', { extra: { optIn: ['Stop!'] } }, ['extra.optIn[0]']],
    ['an opt-out that is a core opt-in', { extra: { optOut: ['START'] } }, ['extra.optOut[0]']],
    ['an opt-in that is a pack opt-out', { extra: { optIn: ['baja'] } }, ['extra.optIn[0]']],
    ['one word in two extra lists', { extra: { optOut: ['HALT'], help: ['halt'] } }, ['extra.help[0]']],
    ['disabled not a list', { disabled: 'BAND' }, ['disabled']],
    ['a disabled keyword not a string', { disabled: ['BAND', 1] }, ['disabled[1]']],
    ['disabling a core keyword', { disabled: ['band', 'stop'] }, ['disabled[1]']],
    ['disabling a core keyword in another form', { disabled: [' End. '] }, ['disabled[0]']],
    [
      'several problems at once',
      { languages: ['xx'], disabled: [1], extra: { optIn: [null] }, colour: 'red' },
      ['colour', 'languages[0]', 'disabled[0]', 'extra.optIn[0]'],
    ],
  ];
  for (const [name, config, fields] of cases) {
    it(`reports ${name} at ${fields.map((f) => JSON.stringify(f)).join(', ')}`, () => {
      const r = validateKeywordConfig(config);
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.deepEqual(r.errors.map((e) => e.field).sort(), [...fields].sort());
      for (const e of r.errors) assert.ok(e.message.length > 0);
    });
  }
});
