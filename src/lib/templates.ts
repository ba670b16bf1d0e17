import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

// The templates ship in web/ (package.json "files"); the same relative path works from src/ (tsx) and dist/.
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/**
 * Eta escapes every `<%= %>` output (autoEscape), so a business name or a consent text can never inject markup;
 * `<%~ %>` (raw) is used only for the layout body, itself rendered by Eta. Templates are compiled once.
 */
const eta = new Eta({ views: `${WEB_DIR}templates`, autoEscape: true, cache: true, autoTrim: [false, 'nl'] });

export function renderTemplate(name: string, data: object): string {
  return eta.render(`./${name}`, data);
}

/** A file under web/static, read once (CSS, the widget script). */
const statics = new Map<string, string>();
export function staticFile(name: 'pages.css' | 'widget.js' | 'frame-height.js'): string {
  let s = statics.get(name);
  if (s === undefined) {
    s = readFileSync(`${WEB_DIR}static/${name}`, 'utf8');
    statics.set(name, s);
  }
  return s;
}
