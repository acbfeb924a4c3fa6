import { type LockoutPolicy } from './lockout.js';
import { type ChallengePurpose } from './login-challenge.entity.js';

/**
 * Who must prove a second factor after the password, in one place: an enrolled factor is always
 * asked for; a platform operator without one must enrol before any session opens; an
 * administrator of an organisation (ЛКО) too when MFA_REQUIRED_FOR_ADMINS is on. A Госуслуги
 * login never comes here: ЕСИА makes its own second factor mandatory.
 */
export function secondFactorStep(
  account: { enrolled: boolean; operator: boolean; administrator: boolean },
  policy: { requiredForAdmins: boolean },
): ChallengePurpose | null {
  if (account.enrolled) return 'verify';
  if (account.operator) return 'enrol';
  if (account.administrator && policy.requiredForAdmins) return 'enrol';
  return null;
}

/**
 * Wrong codes count on the factor itself with the password's arithmetic (lockout.ts), and only a
 * right code clears them: a right password must not buy fresh guesses. Five wrong codes pause
 * the factor 5 minutes, each further five 5 minutes more, up to an hour: at most about 120
 * guesses a day against a million codes (three of them valid at a time).
 */
export const CODE_LOCKOUT: LockoutPolicy = {
  failureFactor: 5,
  waitIncrementMs: 5 * 60_000,
  maxWaitMs: 60 * 60_000,
  failureResetMs: 12 * 60 * 60_000,
};

/** The pending step lasts this long, and ends after this many wrong codes (a new password then). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
export const CHALLENGE_MAX_ATTEMPTS = 5;

/** `amr` of a session (RFC 8176): the method, and `otp` after a TOTP or recovery code. */
export function amrOf(session: { method: string; secondFactor: string | null }): string[] {
  return session.secondFactor ? [session.method, session.secondFactor] : [session.method];
}
