import { type IdentityClaimsSnapshot } from '../identity/federated-identity.entity.js';

/**
 * Who an invitation is for, and whether the person Госуслуги vouched for is that person. The real
 * ПОС invites by e-mail, ФИО and СНИЛС and admits only a confirmed Госуслуги account; holding the
 * link is not enough.
 */

/** The 11 digits of a SNILS typed any usual way (`112-233-445 95`, `11223344595`), or null. */
export function snilsDigits(input: string): string | null {
  const digits = input.replace(/[\s-]/g, '');
  return /^\d{11}$/.test(digits) ? digits : null;
}

/**
 * The SNILS check number (Пенсионный фонд's rule): the first nine digits weighted 9…1 and summed;
 * a sum below 100 is the check number, 100 and 101 give 00, a larger one is taken mod 101 (where
 * 100 again gives 00).
 */
export function snilsChecksumValid(input: string): boolean {
  const digits = snilsDigits(input);
  if (!digits) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (9 - i);
  let check = sum < 100 ? sum : sum % 101;
  if (check === 100) check = 0;
  return check === Number(digits.slice(9));
}

/**
 * A name as it is compared: Unicode NFKC, case folded, ё as е, one kind of dash and space. «Семёнова
 * Анна-Мария» and «СЕМЕНОВА анна‑мария» are the same name.
 */
export function comparableName(name: string | null | undefined): string {
  return (name ?? '')
    .normalize('NFKC')
    .toLocaleLowerCase('ru')
    .replace(/ё/g, 'е')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s*-\s*/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface Invitee {
  lastName: string;
  firstName: string;
  middleName: string | null;
  snilsDigest: string | null;
}

/** Why a Госуслуги profile may not accept an invitation; null when it may. */
export type InviteeMismatch =
  /** Another person: the name or the SNILS differ. */
  | 'profile_mismatch'
  /** A simplified (unconfirmed) Госуслуги account. */
  | 'untrusted'
  /** The invitation names a SNILS and Госуслуги gave none to compare with. */
  | 'snils_unavailable';

export function inviteeMismatch(
  invitee: Invitee,
  claims: IdentityClaimsSnapshot,
): InviteeMismatch | null {
  const same = (a: string | null | undefined, b: string | null | undefined) =>
    comparableName(a) !== '' && comparableName(a) === comparableName(b);
  if (!same(invitee.lastName, claims.lastName) || !same(invitee.firstName, claims.firstName))
    return 'profile_mismatch';
  // The middle name counts when both sides have one (people without one, or a provider that gave none).
  if (
    comparableName(invitee.middleName) !== '' &&
    comparableName(claims.middleName) !== '' &&
    !same(invitee.middleName, claims.middleName)
  )
    return 'profile_mismatch';
  if (invitee.snilsDigest) {
    if (!claims.snilsDigest) return 'snils_unavailable';
    if (claims.snilsDigest !== invitee.snilsDigest) return 'profile_mismatch';
  }
  if (claims.trusted !== true) return 'untrusted';
  return null;
}

export function fullName(person: {
  lastName?: string | null;
  firstName?: string | null;
  middleName?: string | null;
}): string {
  return [person.lastName, person.firstName, person.middleName].filter(Boolean).join(' ');
}
