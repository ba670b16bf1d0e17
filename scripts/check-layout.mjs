#!/usr/bin/env node
// The layout rules Prettier cannot enforce by itself (npm run lint runs both):
// - no line over 120 characters, except where only a string literal runs past the limit (Prettier never splits a
//   string: an error message or a translated sentence stays greppable in one piece);
// - no source file over 400 lines, except generated code (the typed client's schema) and the loopback fakes;
// - the median source file stays under 150 lines.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINE = 120;
const MAX_FILE = 400;
const MAX_MEDIAN = 150;
const GENERATED = new Set(['src/client/schema.ts']);
const isFake = (f) => /(^|\/)fake-[^/]*\.ts$/.test(f);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.(ts|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

/**
 * Per line, how long it is with the contents of its string and template literals left out: what is left is what
 * Prettier could have wrapped. Template literals may span lines (SQL); `${…}` inside them counts as code.
 */
function codeLengths(text) {
  const out = [];
  let len = 0;
  const stack = []; // open literals: "'", '"', '`', or '{' for a ${ } inside a template
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (ch === '\n') {
      out.push(len);
      len = 0;
      if (top === "'" || top === '"') stack.pop(); // an unterminated quote (a regex, say) ends with its line
      continue;
    }
    const inLiteral = top === "'" || top === '"' || top === '`';
    if (inLiteral) {
      if (ch === '\\') {
        i++;
        continue;
      }
      if (ch === top) {
        stack.pop();
        len++;
      } else if (top === '`' && ch === '$' && text[i + 1] === '{') {
        stack.push('{');
        i++;
        len += 2;
      }
      continue;
    }
    if (ch === '/' && text[i + 1] !== '/' && text[i + 1] !== '*' && REGEX_BEFORE.test(lastCode(text, i))) {
      // A regular expression literal: like a string, Prettier cannot wrap it.
      const end = regexEnd(text, i);
      if (end > i) {
        len += 2;
        i = end;
        continue;
      }
    }
    len++;
    if (ch === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      len += stop - i - 1;
      i = stop - 1;
    } else if (ch === "'" || ch === '"' || ch === '`') stack.push(ch);
    else if (ch === '{' && top === '{') stack.push('{');
    else if (ch === '}' && top === '{') stack.pop();
  }
  out.push(len);
  return out;
}

// A slash after one of these (or at the start of a line) opens a regular expression, not a division.
const REGEX_BEFORE = /^$|[(,=:[!&|?{};]$|\breturn$/;

function lastCode(text, i) {
  let j = i - 1;
  while (j >= 0 && (text[j] === ' ' || text[j] === '\t')) j--;
  if (j < 0 || text[j] === '\n') return '';
  const start = text.lastIndexOf('\n', j) + 1;
  return text.slice(start, j + 1).trimStart();
}

/** Where the regular expression literal opened at `i` closes (its last slash), or -1 when it does not on its line. */
function regexEnd(text, i) {
  let inClass = false;
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\n') return -1;
    if (c === '\\') j++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) return j;
  }
  return -1;
}

const problems = [];
const sizes = [];
for (const file of ['src', 'test', 'bench', 'scripts'].flatMap(walk).sort()) {
  if (GENERATED.has(file)) continue;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const code = codeLengths(text);
  if (file.startsWith('src/')) {
    sizes.push(lines.length);
    if (lines.length > MAX_FILE && !isFake(file)) problems.push(`${file}: ${lines.length} lines (at most ${MAX_FILE})`);
  }
  lines.forEach((line, i) => {
    if (line.length > MAX_LINE && (code[i] ?? 0) > MAX_LINE) {
      problems.push(`${file}:${i + 1}: ${line.length} characters (at most ${MAX_LINE})`);
    }
  });
}
sizes.sort((a, b) => a - b);
const median = sizes[Math.floor(sizes.length / 2)] ?? 0;
if (median >= MAX_MEDIAN) problems.push(`median source file is ${median} lines (under ${MAX_MEDIAN} wanted)`);

if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n${problems.length} layout problem(s)\n`);
  process.exit(1);
}
process.stdout.write(
  `layout: ${sizes.length} source files, median ${median} lines, none over ${MAX_FILE}; no line over ${MAX_LINE}\n`,
);
