/* global process */
// Reproduces config/common-passwords.txt from a published breach-frequency list:
//   node scripts/generate-common-passwords.mjs > config/common-passwords.txt
// The service reads only the committed file; this script and its devDependency exist so that anyone
// can check where every entry comes from. The header written below states the derivation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PACKAGE = '@zxcvbn-ts/language-common';
/** Ranks 1..TOP_RANKS of the source list are used. */
const TOP_RANKS = 10_000;
/**
 * The two most frequent trailing digit groups of the list's own letters-then-digits entries
 * ("1": 3,491 entries, "123": 720), then its most frequent trailing special character ("!").
 */
const SUFFIXES_FOR_LETTERS = ['1!', '123!'];
const SUFFIX_WITH_DIGITS = '!';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve(`${PACKAGE}/package.json`));
/** @type {{ version: string, license: string }} */
const { version, license } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Ranked by frequency, most frequent first. @type {string[]} */
const ranked = JSON.parse(readFileSync(join(root, 'src/passwords.json'), 'utf8'));

/** @param {string} p */
const composition = (p) =>
  [...p].length >= 8 &&
  /[!@#$%^&*()]/.test(p) &&
  /[0-9]/.test(p) &&
  /[A-Z]/.test(p) &&
  /[a-z]/.test(p);

const entries = new Map();
for (const base of ranked.slice(0, TOP_RANKS)) {
  if (!/^[a-z][a-z0-9]*$/.test(base)) continue;
  const capitalised = base[0].toUpperCase() + base.slice(1);
  const variants = /[0-9]/.test(base)
    ? [capitalised + SUFFIX_WITH_DIGITS]
    : SUFFIXES_FOR_LETTERS.map((suffix) => capitalised + suffix);
  for (const variant of variants) {
    const key = variant.toLowerCase();
    if (composition(variant) && !entries.has(key)) entries.set(key, variant);
  }
}

const header = `# Common passwords that nevertheless satisfy the regional composition rules (8+ characters, a
# digit, upper and lower case, a special character from !@#$%^&*(), no Cyrillic). Rule \`common\`
# compares case-insensitively; lines starting with # are ignored.
#
# Source: npm package ${PACKAGE} ${version} (licence ${license}, (c) Dan Wheeler and Dropbox, Inc.;
# @zxcvbn-ts), file src/passwords.json: the passwords of Mark Burnett's 10 million password
# corpus (published on xato.net, 2015), lower-cased, counted, those seen more than 10
# times ranked by frequency, with entries that zxcvbn guesses faster than their rank (plain
# sequences, repeats, dates) left out; ${ranked.length} entries.
#
# Derivation (scripts/generate-common-passwords.mjs reproduces this file exactly): source ranks
# 1-${TOP_RANKS}, in rank order; only entries made of a-z and 0-9 that start with a letter; the first
# letter capitalised; an entry without a digit gets each of the suffixes ${SUFFIXES_FOR_LETTERS.map((s) => `"${s}"`).join(' and ')} (the two
# most frequent trailing digit groups of the source list's own letters-then-digits entries, then its
# most frequent trailing special character), an entry with a digit gets "${SUFFIX_WITH_DIGITS}"; variants shorter
# than 8 characters are dropped, duplicates (case-insensitive) kept once. ${entries.size} entries.
`;

process.stdout.write(header + [...entries.values()].join('\n') + '\n');
