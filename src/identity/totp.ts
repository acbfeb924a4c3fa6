import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/**
 * TOTP as RFC 6238 and every authenticator app expect it: HMAC-SHA-1, 6 digits, 30-second steps
 * (otpauth, a maintained library). Pure: the services keep the secret sealed and the last step.
 */
export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either side: a phone clock a little off, or a code typed as it changed. */
const WINDOW = 1;
/** What the authenticator app shows as the account's issuer. */
const ISSUER = 'ЭПОС Identity Link';

function totpOf(secretBase32: string, login = ''): TOTP {
  return new TOTP({
    issuer: ISSUER,
    label: login,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** A new secret: 160 random bits (RFC 4226's recommended length), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://` URI an app reads from the QR code. */
export function totpUri(secretBase32: string, login: string): string {
  return totpOf(secretBase32, login).toString();
}

/** The code for a time (tests, and nothing else, need to make one). */
export function totpCodeAt(secretBase32: string, timestamp: number): string {
  return totpOf(secretBase32).generate({ timestamp });
}

/** The 30-second step of a moment. */
export function totpStepAt(timestamp: number): number {
  return Math.floor(timestamp / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The step a code belongs to, if it is right for now (±1 step), else null. The caller refuses a
 * step not newer than the last one accepted (a replay).
 */
export function totpMatchingStep(
  secretBase32: string,
  code: string,
  timestamp: number,
): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(secretBase32).validate({ token: code, timestamp, window: WINDOW });
  return delta === null ? null : totpStepAt(timestamp) + delta;
}

/** Spaces and dashes people type inside codes are dropped; letters are folded to upper case. */
export function normalizeCode(input: string): string {
  return input.replace(/[\s-]/g, '').toUpperCase();
}

/** Crockford's base32: no I, L, O, U to misread. */
const RECOVERY_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECOVERY_CODE_COUNT = 10;

/** A recovery code: 12 characters of 32 (60 bits), shown as XXXX-XXXX-XXXX. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(12);
  const chars = [...bytes].map((byte) => RECOVERY_ALPHABET[byte & 31]);
  return [0, 4, 8].map((start) => chars.slice(start, start + 4).join('')).join('-');
}

export function isRecoveryCodeShape(normalized: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{12}$/.test(normalized);
}

/** SHA-256 of the normalized code, hex. */
export function recoveryCodeHash(code: string): string {
  return createHash('sha256').update(normalizeCode(code), 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests of the same length. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
