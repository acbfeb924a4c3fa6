import { createHash } from 'node:crypto';

/**
 * A strong validator of a body as sent. Express computes none (app.setup.ts turns `etag` off:
 * every dynamic answer is `no-store`, so a validator there is never used); the few answers a
 * cache may keep set this one themselves, and Express's `res.send` then answers 304 to a request
 * whose If-None-Match names it.
 */
export const etagOf = (body: string): string =>
  `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
