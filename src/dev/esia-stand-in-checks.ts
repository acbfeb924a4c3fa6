import { createHash } from 'node:crypto';
import { sameSecret } from '../common/secrets.js';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';
import { certificateHash, type LoadedCertificate } from '../gosuslugi/esia/certificates.js';
import { ESIA_ERRORS } from '../gosuslugi/esia/esia-errors.js';
import { clientSecretText, parseEsiaTimestamp, UUID_V4 } from '../gosuslugi/esia/esia-format.js';
import { gostVerify } from '../gosuslugi/esia/gost.js';

const TIMESTAMP_SKEW_MS = 5 * 60_000;
/** The scopes «approved in ЕСИА» for the development system; anything else is ESIA-007006. */
export const STAND_IN_APPROVED_SCOPES = [
  'openid',
  'fullname',
  'birthdate',
  'gender',
  'snils',
  'contacts',
  'email',
  'mobile',
  'usr_org',
];

/** RFC 7636's S256 challenge: base64url of the verifier's SHA-256, 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface SignedRequest {
  client_id?: string;
  client_secret?: string;
  client_certificate_hash?: string;
  timestamp?: string;
  state?: string;
  redirect_uri?: string;
  scope?: string;
}

/** The development system as the stand-in has it registered, and what it does not accept. */
export interface RegisteredSystem {
  certificate: LoadedCertificate;
  redirectUri: string;
  /** Hashes of certificates registered in the stand-in to systems other than ours. */
  otherSystemsCertificates: string[];
}

/** Descriptions in the form ЕСИА gives them: the code first, then the words. */
export function describeEsiaCode(code: string): string {
  return `${code}: ${ESIA_ERRORS[code]?.message ?? 'Ошибка'}`;
}

/** The checks ЕСИА makes of a signed request; returns the error code or null. */
export function checkSignedRequest(
  params: SignedRequest,
  system: RegisteredSystem,
  code?: string,
): string | null {
  if (params.client_id !== DEV_STAND_IN.clientId) return 'ESIA-007005';
  if (params.redirect_uri !== system.redirectUri) return 'ESIA-007023';
  if (!params.client_certificate_hash) return 'ESIA-007014';
  // Hex case is not significant. A certificate ЕСИА knows, but registered to another system, is a
  // mismatch of certificate and mnemonic (007002); a hash of nothing registered (the PEM text's,
  // ESIA.md) cannot match the signature's certificate (007053).
  const hash = params.client_certificate_hash.toUpperCase();
  if (system.otherSystemsCertificates.includes(hash)) return 'ESIA-007002';
  if (hash !== certificateHash(system.certificate)) return 'ESIA-007053';
  const timestamp = params.timestamp ?? '';
  const instant = parseEsiaTimestamp(timestamp);
  if (!instant || Math.abs(Date.now() - instant.getTime()) > TIMESTAMP_SKEW_MS) {
    return 'ESIA-007015';
  }
  if (!params.state || !UUID_V4.test(params.state)) return 'ESIA-007003';
  const text = clientSecretText({
    clientId: params.client_id,
    scope: params.scope ?? '',
    timestamp,
    state: params.state,
    redirectUri: params.redirect_uri,
    code,
  });
  const signature = Buffer.from(params.client_secret ?? '', 'base64url');
  const key = system.certificate.key;
  if (
    key.kind !== 'gost2012-256' ||
    !gostVerify(key.publicKey, Buffer.from(text, 'utf8'), signature)
  )
    return 'ESIA-007053';
  return null;
}

/** What only the authorization request is checked for: the response type and approved scopes. */
export function checkAuthorization(params: Record<string, string | undefined>): string | null {
  if (params.response_type !== 'code') return 'ESIA-007009';
  const scopes = (params.scope ?? '').split(' ');
  if (!scopes.includes('openid') || scopes.some((s) => !STAND_IN_APPROVED_SCOPES.includes(s)))
    return 'ESIA-007006';
  if (params.access_type !== undefined && !['online', 'offline'].includes(params.access_type))
    return 'ESIA-007003';
  // Only S256 is taken here: the relying party never sends `plain`, and whether ЕСИА accepts it
  // is not documented, so the stand-in does not (stricter, never easier, than ЕСИА).
  if (
    params.code_challenge !== undefined &&
    (params.code_challenge_method !== 'S256' || !S256_CHALLENGE.test(params.code_challenge))
  )
    return 'ESIA-007003';
  return null;
}

/**
 * ЕСИА's PKCE check on /v3/te: a verifier for a code whose authorization had no challenge is
 * ESIA-007039, one whose S256 differs from the challenge ESIA-007040 (both in ЕСИА's catalogue).
 * For a missing verifier after a challenge the catalogue names no code of its own; the stand-in
 * answers ESIA-007003 (a mandatory parameter missing) rather than redeem the code.
 */
export function checkVerifier(codeChallenge: string | undefined, verifier: unknown): string | null {
  if (codeChallenge === undefined) return verifier === undefined ? null : 'ESIA-007039';
  // Missing, or given several times.
  if (typeof verifier !== 'string') return 'ESIA-007003';
  const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return sameSecret(challenge, codeChallenge) ? null : 'ESIA-007040';
}
