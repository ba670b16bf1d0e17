/**
 * Chat keywords, in one import: the packs (keyword-packs.ts), the normalisation (keyword-text.ts), intent
 * phrases (intent-phrases.ts), the matcher (keyword-matcher.ts) and the business's settings with their
 * validation (keyword-config.ts, keyword-config-extras.ts).
 */
export {
  CORE_KEYWORDS,
  DEFAULT_KEYWORD_PACKS,
  KEYWORD_LANGUAGES,
  type KeywordKind,
  type KeywordPack,
} from './keyword-packs.js';
export { normaliseKeywordText } from './keyword-text.js';
export { DEFAULT_INTENT_PHRASES } from './intent-phrases.js';
export { createKeywordMatcher, type KeywordResult, type KeywordRule, type OptInBinding } from './keyword-matcher.js';
export {
  validateKeywordConfig,
  type ExtraKeyword,
  type KeywordConfig,
  type KeywordConfigError,
  type OptInKeyword,
} from './keyword-config.js';
