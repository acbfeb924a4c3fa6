import { domainToASCII, domainToUnicode } from 'node:url';

/** Logins are case-insensitive: stored and compared in lower case. */
export function normalizeLogin(login: string): string {
  return login.trim().toLowerCase();
}

/**
 * The one form an address is stored and compared in: trimmed, lower case, and the domain in its
 * IDNA Unicode form, so `dup@ШКОЛА.РФ` and `dup@xn--80atdl2c.xn--p1ai` are one address (and one
 * live account, one live membership).
 */
export function normalizeEmail(email: string): string {
  const lower = email.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at < 0) return lower;
  const ascii = domainToASCII(lower.slice(at + 1));
  return ascii ? `${lower.slice(0, at)}@${domainToUnicode(ascii)}` : lower;
}

/**
 * Accepts the ways people type Russian numbers — `8 (912) 345-67-89`, `+7 912 345 67 89` — and
 * international E.164; returns `+7XXXXXXXXXX` / `+<digits>` or null when it is not a number.
 */
export function normalizePhone(phone: string): string | null {
  const compact = phone.replace(/[\s()\-.]/g, '');
  if (/^8\d{10}$/.test(compact)) return `+7${compact.slice(1)}`;
  if (/^7\d{10}$/.test(compact)) return `+${compact}`;
  if (/^\+[1-9]\d{9,14}$/.test(compact)) return compact;
  return null;
}
