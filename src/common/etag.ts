import { createHash } from 'node:crypto';

/**
 * A strong validator of a body as sent. None is computed for every answer (every dynamic answer
 * is `no-store`, so a validator there is never used); the few answers a cache may keep set this
 * one themselves, and answer 304 when `stillFresh`.
 */
export const etagOf = (body: string): string =>
  `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

/** Whether an If-None-Match names `etag` (or `*`): the client's copy is current (RFC 9110 §13.1.2). */
export function stillFresh(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}
