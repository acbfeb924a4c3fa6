import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';

/**
 * SECURITY.md, docs/asvs.md and docs/oidc.md name the tests that prove each control as `file` › "title"
 * (chains: `file` › "a"; › "b"), and docs/architecture.md the unit test of each rule. A reviewer
 * follows those names: each must be a test or a describe block of that file, as the route
 * inventory holds the routes to the code.
 */
const ROOT = new URL('..', import.meta.url);
/** Each document with the fewest references it has: a reading that finds fewer has broken. */
const DOCS: Record<string, number> = {
  'SECURITY.md': 21,
  'docs/asvs.md': 21,
  'docs/oidc.md': 21,
  'docs/architecture.md': 8,
};

const squash = (text: string) => text.replace(/\s+/g, ' ');
const LOG_CHECK = 'log capture';
const LOG_CHECK_FILE = 'test/support/log-check.ts';

export interface Reference {
  doc: string;
  file: string;
  title: string;
}

/** Every `file` › "title" in a document, chains followed. */
export function references(doc: string, text: string): Reference[] {
  const found: Reference[] = [];
  const flat = squash(text);
  const file = /`((?:test|src|tools)\/[^`]+\.spec\.ts)`/g;
  const link = /^\s*;?\s*(?:"([^"]+)"\s*)?›\s*"([^"]+)"/;
  for (let match = file.exec(flat); match; match = file.exec(flat)) {
    let rest = flat.slice(match.index + match[0].length);
    for (let step = link.exec(rest); step; step = link.exec(rest)) {
      // "log capture" › "…" is the test every spec file runs (test/support/log-check.ts).
      const where = step[1] === LOG_CHECK ? LOG_CHECK_FILE : match[1];
      found.push({ doc, file: where, title: step[2].trim() });
      rest = rest.slice(step[0].length);
    }
  }
  return found;
}

/** The titles of a spec file's tests and describe blocks (string literals, whitespace squashed). */
export function titles(source: string): Set<string> {
  const result = new Set<string>();
  const literal = `(['"\`])((?:\\\\.|(?!\\1).)*?)\\1`;
  // it('…'), describe("…"), and it.each(table)('… %s …') with the table in between.
  const calls = [
    new RegExp(`\\b(?:it|test|describe)\\(\\s*${literal}`, 'gs'),
    new RegExp(`\\b(?:it|test|describe)\\.each\\b[\\s\\S]*?\\)\\(\\s*${literal}`, 'g'),
  ];
  for (const call of calls)
    for (let match = call.exec(source); match; match = call.exec(source))
      result.add(squash(match[2].replace(/\\(['"`\\])/g, '$1')).trim());
  return result;
}

describe('test references in the security documents', () => {
  it('finds the chains it is meant to read', () => {
    expect(
      references(
        'x',
        '`test/a.spec.ts` › "one"; › "two\n  wrapped"; "log capture" › "logs"; `test/b.spec.ts` › "three".',
      ),
    ).toEqual([
      { doc: 'x', file: 'test/a.spec.ts', title: 'one' },
      { doc: 'x', file: 'test/a.spec.ts', title: 'two wrapped' },
      { doc: 'x', file: LOG_CHECK_FILE, title: 'logs' },
      { doc: 'x', file: 'test/b.spec.ts', title: 'three' },
    ]);
    expect([...titles(`it('it’s \\'quoted\\'', …); describe(\n  "block",`)]).toEqual([
      "it’s 'quoted'",
      'block',
    ]);
  });

  it.each(Object.keys(DOCS))('every test %s names exists in its file', (doc) => {
    const found = references(doc, readFileSync(new URL(doc, ROOT), 'utf8'));
    expect(found.length).toBeGreaterThanOrEqual(DOCS[doc]);
    const missing: string[] = [];
    const cache = new Map<string, Set<string>>();
    for (const reference of found) {
      const path = new URL(reference.file, ROOT);
      if (!existsSync(path)) {
        missing.push(`${reference.file} (no such file)`);
        continue;
      }
      if (!cache.has(reference.file)) cache.set(reference.file, titles(readFileSync(path, 'utf8')));
      const known = cache.get(reference.file)!;
      // A title cut short with «…» names the test it begins.
      const cut = reference.title.endsWith('…') ? reference.title.slice(0, -1) : null;
      if (!known.has(reference.title) && !(cut && [...known].some((t) => t.startsWith(cut))))
        missing.push(`${reference.file} › "${reference.title}"`);
    }
    expect(missing).toEqual([]);
  });
});
