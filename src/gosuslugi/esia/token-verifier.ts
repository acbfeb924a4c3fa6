import { compactVerify, decodeProtectedHeader } from 'jose';
import { type LoadedCertificate } from './certificates.js';
import { gostVerify } from './gost.js';

export const ESIA_ALGORITHMS = ['RS256', 'GOST3410_2012_256'] as const;

/** Why a token is refused: the stable end of the relying party's code (`id_token_signature`). */
export type TokenRejectionCode = 'malformed' | 'algorithm' | 'signature';

export class TokenRejected extends Error {
  constructor(
    readonly code: TokenRejectionCode,
    message: string = code,
  ) {
    super(message);
    this.name = 'TokenRejected';
  }
}

/**
 * Verifies an ЕСИА JWT against the configured certificates: RS256 with jose, GOST3410_2012_256
 * with crypto-gost-js. Several certificates may be configured (rotation); the token must verify
 * under one of the algorithm's kind. Any other algorithm, `none` included, is refused.
 */
export async function verifyEsiaJwt(
  token: string,
  certificates: LoadedCertificate[],
): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenRejected('malformed');
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new TokenRejected('malformed');
  }
  let verified = false;
  if (alg === 'RS256') {
    for (const certificate of certificates) {
      if (certificate.key.kind !== 'rsa') continue;
      try {
        await compactVerify(token, certificate.key.publicKey, { algorithms: ['RS256'] });
        verified = true;
        break;
      } catch {
        // try the next certificate
      }
    }
  } else if (alg === 'GOST3410_2012_256') {
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');
    const signature = Buffer.from(parts[2], 'base64url');
    verified = certificates.some(
      (certificate) =>
        certificate.key.kind === 'gost2012-256' &&
        gostVerify(certificate.key.publicKey, signed, signature),
    );
  } else {
    throw new TokenRejected('algorithm', `algorithm ${String(alg)} is not accepted`);
  }
  if (!verified)
    throw new TokenRejected(
      'signature',
      'signature does not verify with any configured certificate',
    );
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    throw new TokenRejected('malformed');
  }
}
