const BASE = 'http://local.invalid';
const MAX_LENGTH = 512;
/** `//host` and `/\host` are other hosts to a browser. */
const ANOTHER_HOST = /^\/[/\\]/;

/**
 * `returnTo` is honoured only as a path on this service: no scheme, no host, no control
 * characters or backslashes. The check is made again on the normalised result, because dot
 * segments (`/.//evil`, `/a/..//evil`, `/%2e//evil`) normalise into `//evil`.
 */
export function safeReturnTo(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return null;
  if (!value.startsWith('/') || ANOTHER_HOST.test(value)) return null;
  if (/[\p{Cc}\\]/u.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  const result = `${url.pathname}${url.search}${url.hash}`;
  if (ANOTHER_HOST.test(result) || result.length > MAX_LENGTH) return null;
  return result;
}

/** Where a login goes when it was asked to go nowhere, or somewhere safeReturnTo refuses. */
export const DEFAULT_RETURN = '/account';

/** `returnTo` when safeReturnTo accepts it, else DEFAULT_RETURN. */
export function returnTarget(value: unknown): string {
  return safeReturnTo(value) ?? DEFAULT_RETURN;
}
