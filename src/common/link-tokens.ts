import { createHash, randomBytes } from 'node:crypto';

/**
 * Tokens sent in links (invitations, e-mail verification, password recovery): 256 random bits in
 * base64url. Only the SHA-256 is stored, so a database dump holds no usable link.
 */
export const LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashLinkToken(token) };
}
