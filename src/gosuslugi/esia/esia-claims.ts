import { sameSecret } from '../../common/secrets.js';
import {
  assertFreshAuthentication,
  type AuthorizationRequest,
  CLOCK_TOLERANCE_S,
  ProviderError,
} from '../provider-client.js';
import { type LoadedCertificate } from './certificates.js';
import { TokenRejected, verifyEsiaJwt } from './token-verifier.js';

/** What ЕСИА's tokens must say to this system: its issuer, our client id, the nonce rule. */
export interface ExpectedClaims {
  issuer: string;
  clientId: string;
  nonce: 'optional' | 'required';
}

type TokenKind = 'id_token' | 'access_token';

/** The signature, as a refusal coded by the token and the reason (`id_token_signature`). */
export async function verifyEsiaToken(
  token: string,
  certificates: LoadedCertificate[],
  what: TokenKind,
): Promise<Record<string, unknown>> {
  try {
    return await verifyEsiaJwt(token, certificates);
  } catch (error) {
    if (error instanceof TokenRejected)
      throw new ProviderError('rejected', `${what}_${error.code}`, { cause: error });
    throw error;
  }
}

function checkTimes(claims: Record<string, unknown>, what: TokenKind): void {
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_TOLERANCE_S < now)
    throw new ProviderError('rejected', `${what}_expired`);
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_TOLERANCE_S > now)
    throw new ProviderError('rejected', `${what}_not_yet_valid`);
}

/**
 * iss exact, aud the client, times, the oid subject, and the nonce: a nonce that is present must
 * be this transaction's; its absence is refused only with GOSUSLUGI_ESIA_NONCE=required, since
 * ЕСИА has not returned it since November 2022 (docs/esia.md › «PKCE and nonce»). Returns the oid.
 */
export function checkIdToken(
  claims: Record<string, unknown>,
  request: AuthorizationRequest,
  expected: ExpectedClaims,
): string {
  if (claims.iss !== expected.issuer) throw new ProviderError('rejected', 'id_token_issuer');
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(expected.clientId))
    throw new ProviderError('rejected', 'id_token_audience');
  checkTimes(claims, 'id_token');
  const sub = claims.sub;
  if ((typeof sub !== 'number' && typeof sub !== 'string') || !/^\d{1,20}$/.test(String(sub))) {
    throw new ProviderError('rejected', 'id_token_subject');
  }
  const sbj = claims['urn:esia:sbj'] as { oid?: unknown } | undefined;
  const oid = sbj?.oid;
  const sameOid =
    (typeof oid === 'number' || typeof oid === 'string') && String(oid) === String(sub);
  if (oid !== undefined && !sameOid) throw new ProviderError('rejected', 'id_token_subject');
  if (claims.nonce !== undefined || expected.nonce === 'required') {
    if (typeof claims.nonce !== 'string' || !sameSecret(claims.nonce, request.nonce))
      throw new ProviderError('rejected', 'id_token_nonce');
  }
  assertFreshAuthentication(request, claims.auth_time, false);
  return String(sub);
}

/** The access token must be ЕСИА's, for this system, about the same person, and current. */
export function checkAccessToken(
  claims: Record<string, unknown>,
  subject: string,
  expected: ExpectedClaims,
): void {
  if (claims.iss !== expected.issuer) throw new ProviderError('rejected', 'access_token_issuer');
  // ЕСИА's access token names the system as `client_id`; a token for another system is refused.
  if (claims.client_id !== expected.clientId)
    throw new ProviderError('rejected', 'access_token_client');
  const sbj = claims['urn:esia:sbj_id'];
  if ((typeof sbj !== 'number' && typeof sbj !== 'string') || String(sbj) !== subject) {
    throw new ProviderError('rejected', 'access_token_subject');
  }
  checkTimes(claims, 'access_token');
}
