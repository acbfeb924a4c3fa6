import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { type EnvSchema } from './env.schema.js';
import { type GosuslugiConfig } from './gosuslugi.config.js';

/**
 * Checked here, not first at token signing, so a placeholder or a wrong key type stops the start
 * with the variable named. Accepts a PKCS#8 PEM (\n escapes allowed) or a private JWK.
 */
export function signingKeyProblem(text: string): string | null {
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed.replace(/\\n/g, '\n'));
    const ec =
      key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    if (ec || key.asymmetricKeyType === 'ed25519') return null;
    return 'must be an EC P-256 (ES256) or Ed25519 (EdDSA) private key';
  } catch {
    return 'is not a readable private key (PKCS#8 PEM or JWK)';
  }
}

/** TOKEN_PREVIOUS_KEYS: a JSON array of JWKs (only their public parts are kept). */
export function previousKeys(
  text: string | undefined,
  problems: string[],
): Record<string, unknown>[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      !Array.isArray(parsed) ||
      !parsed.every((k) => typeof k === 'object' && k !== null && 'kty' in k && 'x' in k)
    )
      throw new Error('not an array of JWKs');
    return parsed.map((key: Record<string, unknown>) => {
      const { d: _private, ...publicPart } = key;
      return publicPart;
    });
  } catch {
    problems.push('TOKEN_PREVIOUS_KEYS must be a JSON array of JWKs');
    return [];
  }
}

/**
 * PERSONAL_DATA_KEY decoded (hex or base64), at least 32 bytes, and required in production;
 * undefined elsewhere when unset (a generated key under DATA_DIR, PersonalDataKey).
 */
export function personalDataKey(
  env: EnvSchema,
  gosuslugi: GosuslugiConfig,
  problems: string[],
): Buffer | undefined {
  const text = env.PERSONAL_DATA_KEY;
  const key = text
    ? Buffer.from(text, /^([0-9a-fA-F]{2})+$/.test(text) ? 'hex' : 'base64')
    : undefined;
  if (key && key.length < 32)
    problems.push(`PERSONAL_DATA_KEY must be at least 32 bytes (it decodes to ${key.length})`);
  // Operators must enrol a second factor, whose secret is sealed under this key: without it no
  // operator could log in (enrolment answers 503). SNILS, when its scope is read, and ЕСИА refresh
  // tokens, with offline access, are kept under it too.
  if (env.NODE_ENV === 'production' && !text) {
    const also = [
      ...(gosuslugi.scopes.split(' ').includes('snils')
        ? ['GOSUSLUGI_SCOPES reads SNILS, which is kept only as an HMAC under that key']
        : []),
      ...(gosuslugi.esia?.accessType === 'offline'
        ? ['GOSUSLUGI_ESIA_ACCESS_TYPE=offline keeps ЕСИА refresh tokens sealed under that key']
        : []),
    ];
    problems.push(
      `PERSONAL_DATA_KEY is not set: second-factor (TOTP) secrets are sealed under it, and platform operators must enrol one${
        also.length > 0 ? `; ${also.join('; ')}` : ''
      }`,
    );
  }
  return key;
}
