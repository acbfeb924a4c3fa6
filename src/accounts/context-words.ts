import { readFileSync } from 'node:fs';

/**
 * Context-specific words (ASVS 6.1.2 / 6.2.11): the documented list in config/context-words.txt
 * and, per person, the words of their name and of their organisations. Passwords must be Latin, so
 * every Cyrillic word is also compared in its transliterations.
 */
export const MIN_CONTEXT_WORD_LENGTH = 4;

/** ICAO Doc 9303 (Russian passports since 2014). */
// prettier-ignore
const ICAO: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i',
  к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f',
  х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia',
};

/** The informal spelling people type (GOST 7.79 B's for ю, я): where it differs from ICAO. */
// prettier-ignore
const INFORMAL: Record<string, string> = {
  ...ICAO,
  ё: 'yo', й: 'y', х: 'h', ц: 'c', щ: 'sch', ъ: '', ю: 'yu', я: 'ya',
};

const transliterate = (word: string, table: Record<string, string>) =>
  [...word].map((c) => table[c] ?? c).join('');

/** A phrase's words of at least 4 characters, lower-cased, each with its Latin spellings. */
export function contextWordsOf(phrase: string | null | undefined): string[] {
  if (!phrase) return [];
  const words = new Set<string>();
  for (const word of phrase.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (!/\p{L}/u.test(word)) continue; // a bare number (a school's) is not a word
    for (const spelling of [word, transliterate(word, ICAO), transliterate(word, INFORMAL)]) {
      if ([...spelling].length >= MIN_CONTEXT_WORD_LENGTH) words.add(spelling);
    }
  }
  return [...words];
}

export const CONTEXT_WORDS: readonly string[] = [
  ...new Set(
    readFileSync(new URL('../../config/context-words.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'))
      .flatMap(contextWordsOf),
  ),
];

/** Whether the password contains, case-insensitively, one of the documented or personal words. */
export function containsContextWord(password: string, personal: readonly string[] = []): boolean {
  const lower = password.toLowerCase();
  return [...CONTEXT_WORDS, ...personal].some(
    (word) => [...word].length >= MIN_CONTEXT_WORD_LENGTH && lower.includes(word.toLowerCase()),
  );
}
