import {
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * The shape checks of a WebAuthn response as it arrives (a JSON object from the API, or the JSON
 * text a page's script put into a form field): every field the verification reads is a bounded
 * base64url string, so nothing else reaches the library. Anything else is null: a wrong answer,
 * counted like a wrong code, never a 500.
 */
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;
const MAX_FIELD = 16_384;

function parsed(input: unknown): Record<string, unknown> | null {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > 4 * MAX_FIELD) return null;
    try {
      value = JSON.parse(input) as unknown;
    } catch {
      return null;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function b64(value: unknown, required = true): boolean {
  if (value === undefined) return !required;
  return typeof value === 'string' && value.length <= MAX_FIELD && B64URL.test(value);
}

function common(input: unknown): Record<string, unknown> | null {
  const body = parsed(input);
  if (!body || body.type !== 'public-key') return null;
  if (!b64(body.id) || !b64(body.rawId) || (body.id as string).length === 0) return null;
  const response = parsed(body.response);
  if (!response || !b64(response.clientDataJSON)) return null;
  return { ...body, response, clientExtensionResults: {} };
}

export function authenticationResponseOf(input: unknown): AuthenticationResponseJSON | null {
  const body = common(input);
  if (!body) return null;
  const response = body.response as Record<string, unknown>;
  if (!b64(response.authenticatorData) || !b64(response.signature)) return null;
  if (!b64(response.userHandle, false)) return null;
  return body as unknown as AuthenticationResponseJSON;
}

export function registrationResponseOf(input: unknown): RegistrationResponseJSON | null {
  const body = common(input);
  if (!body) return null;
  const response = body.response as Record<string, unknown>;
  if (!b64(response.attestationObject)) return null;
  const transports = response.transports;
  if (
    transports !== undefined &&
    !(
      Array.isArray(transports) &&
      transports.length <= 8 &&
      transports.every((t) => typeof t === 'string' && /^[a-z-]{1,16}$/.test(t))
    )
  )
    return null;
  return body as unknown as RegistrationResponseJSON;
}

/** The challenge the browser signed over, read from clientDataJSON; null when unreadable. */
export function challengeOf(response: { response: { clientDataJSON: string } }): string | null {
  try {
    const data = JSON.parse(
      Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'),
    ) as unknown;
    const challenge = (data as { challenge?: unknown } | null)?.challenge;
    return typeof challenge === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(challenge)
      ? challenge
      : null;
  } catch {
    return null;
  }
}
