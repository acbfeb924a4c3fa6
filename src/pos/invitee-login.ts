import { type IdentityClaimsSnapshot } from '../identity/federated-identity.entity.js';

/** Russian letters in Latin, as in the international passport (the МВД's 2014 table). */
const LATIN: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'i',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: 'ie',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'iu',
  я: 'ia',
};

function latin(text: string | undefined): string {
  return [...(text ?? '').normalize('NFKC').toLocaleLowerCase('ru')]
    .map((letter) => LATIN[letter] ?? letter)
    .join('')
    .replace(/[^a-z0-9]+/g, '');
}

/** Trimmed to the login alphabet (latin letters, digits, «.», «-», «_») and 3–60 characters. */
function asLogin(text: string): string | null {
  const login = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 60);
  return login.length >= 3 ? login : null;
}

/**
 * Logins a person can read for an account made by accepting an invitation, best first: the
 * invitation address's local part (`ivanova.ms` of ivanova.ms@school.ru), then the ФИО in Latin
 * (`ivanova.m.s`), never `gosuslugi.<oid>`. The caller takes the first free one.
 */
export function loginCandidates(email: string, claims: IdentityClaimsSnapshot): string[] {
  const fromName = [
    latin(claims.lastName),
    latin([...(claims.firstName ?? '')][0]),
    latin([...(claims.middleName ?? '')][0]),
  ]
    .filter(Boolean)
    .join('.');
  const candidates = [asLogin(email.split('@')[0]), asLogin(fromName)].filter(
    (login): login is string => login !== null,
  );
  return candidates.length > 0 ? [...new Set(candidates)] : ['user'];
}
