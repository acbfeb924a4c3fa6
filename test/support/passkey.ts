import { isoCBOR } from '@simplewebauthn/server/helpers';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { type Browser } from './browser.js';

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

/**
 * A software FIDO2 authenticator for tests over HTTP: a real P-256 key pair, the attestation
 * (`none`) and assertions as a browser would hand them over (JSON of @simplewebauthn/browser),
 * signed with real ECDSA. The origin and rpID it puts in are the test's to choose, so an attack
 * can claim another site; `counts: false` behaves like synced passkeys that report 0.
 */
export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(32);
  private readonly privateKey: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  counter = 0;

  constructor(private readonly options: { counts?: boolean } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  private coseKey(): Uint8Array {
    return isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(this.publicJwk.x, 'base64url')],
        [-3, Buffer.from(this.publicJwk.y, 'base64url')],
      ]),
    );
  }

  private clientData(type: string, challenge: string, origin: string): string {
    return JSON.stringify({ type, challenge, origin, crossOrigin: false });
  }

  /** The answer to navigator.credentials.create(). */
  attest(
    options: { challenge: string; rp: { id?: string } },
    origin: string,
  ): Record<string, unknown> {
    const rpId = options.rp.id ?? new URL(origin).hostname;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([0x45]), // user present, user verified, attested credential data
      counterBytes(this.counter),
      Buffer.alloc(16),
      idLength,
      this.credentialId,
      this.coseKey(),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, never> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, never>()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, origin);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(Buffer.from(clientDataJSON)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
    };
  }

  /** The answer to navigator.credentials.get(); `rpId` and `counter` may be forged by a test. */
  assert(
    options: { challenge: string; rpId?: string },
    origin: string,
    forged: { rpId?: string; counter?: number } = {},
  ): Record<string, unknown> {
    if (this.options.counts !== false) this.counter += 1;
    const counter = forged.counter ?? this.counter;
    const rpId = forged.rpId ?? options.rpId ?? new URL(origin).hostname;
    const authData = Buffer.concat([sha256(rpId), Buffer.from([0x05]), counterBytes(counter)]);
    const clientDataJSON = Buffer.from(this.clientData('webauthn.get', options.challenge, origin));
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      this.privateKey,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
      },
      clientExtensionResults: {},
    };
  }
}

/** Adds a passkey through the API for a browser whose session is fresh. */
export async function enrolPasskey(
  browser: Browser,
  name = 'Ноутбук',
  authenticator = new SoftwareAuthenticator(),
): Promise<SoftwareAuthenticator> {
  const options = await browser.postJson('/api/v1/me/mfa/passkeys/options', {});
  if (options.status !== 200) throw new Error(`options: ${options.status} ${await options.text()}`);
  const attestation = authenticator.attest(
    (await options.json()) as { challenge: string; rp: { id?: string } },
    browser.base,
  );
  const added = await browser.postJson('/api/v1/me/mfa/passkeys', { name, attestation });
  if (added.status !== 201) throw new Error(`add: ${added.status} ${await added.text()}`);
  return authenticator;
}

/** The first step of a password login through the API that asks for a second factor: its mfaToken. */
export async function passwordStep(
  browser: Browser,
  account: { login: string; password: string },
): Promise<string> {
  const first = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  const body = (await first.json()) as { code?: string; mfaToken?: string };
  if (first.status !== 401 || body.code !== 'mfa_required' || !body.mfaToken)
    throw new Error(`expected mfa_required, got ${first.status} ${JSON.stringify(body)}`);
  return body.mfaToken;
}

/** Options of a login step for a passkey (a challenge bound to that step). */
export async function passkeyOptions(
  browser: Browser,
  mfaToken: string,
): Promise<{ challenge: string; rpId?: string }> {
  const response = await browser.postJson('/api/v1/auth/login/mfa/passkey-options', { mfaToken });
  if (response.status !== 200)
    throw new Error(`passkey options: ${response.status} ${await response.text()}`);
  return (await response.json()) as { challenge: string; rpId?: string };
}
