import gost from '@wavesenterprise/crypto-gost-js';

/**
 * GOST R 34.10-2012 (256) signatures and GOST R 34.11-2012 (Streebog-256) hashes, in process,
 * with crypto-gost-js in its CryptoPro mode. In that mode the library's signature is already in
 * RFC 4491's order, s || r big-endian — what OpenSSL's gost engine prints, what X.509 holds and
 * what ЕСИА checks — so signatures cross this boundary untouched (test/esia-openssl.spec.ts proves
 * it against OpenSSL). Private keys are 32 bytes and public keys 64 bytes (x || y), both
 * little-endian, as PKCS#8 and SubjectPublicKeyInfo carry them.
 */
const HASH = {
  name: 'GOST R 34.11',
  version: 2012,
  mode: 'HASH',
  length: 256,
  procreator: 'CP',
  keySize: 32,
};

/** Curve parameters in Weierstrass form, as big-endian hex. */
interface Curve {
  p: string;
  a: string;
  b: string;
  q: string;
  x: string;
  y: string;
}

/**
 * TC26 256-bit set A is a twisted Edwards curve; crypto-gost-js has no entry for it (its own
 * `T-256-A` is CryptoPro-A), so it is given in the Weierstrass form of R 1323565.1.024.
 */
const TC26_256_A: Curve = {
  p: '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97',
  a: '0xC2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335',
  b: '0x295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513',
  q: '0x400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67',
  x: '0x91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28',
  y: '0x32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C',
};

/** A GOST R 34.10-2012 (256) parameter set: its OID, OpenSSL's name, and the curve it means. */
export interface GostParameterSet {
  oid: string;
  name: string;
  /** A crypto-gost-js curve name, or the curve itself. */
  curve: string | Curve;
}

const SETS: GostParameterSet[] = [
  { oid: '1.2.643.2.2.35.1', name: 'id-GostR3410-2001-CryptoPro-A-ParamSet', curve: 'S-256-A' },
  { oid: '1.2.643.2.2.35.2', name: 'id-GostR3410-2001-CryptoPro-B-ParamSet', curve: 'S-256-B' },
  { oid: '1.2.643.2.2.35.3', name: 'id-GostR3410-2001-CryptoPro-C-ParamSet', curve: 'S-256-C' },
  // The exchange sets name the same curves as A and C.
  { oid: '1.2.643.2.2.36.0', name: 'id-GostR3410-2001-CryptoPro-XchA-ParamSet', curve: 'S-256-A' },
  { oid: '1.2.643.2.2.36.1', name: 'id-GostR3410-2001-CryptoPro-XchB-ParamSet', curve: 'S-256-C' },
  { oid: '1.2.643.7.1.2.1.1.1', name: 'id-tc26-gost-3410-2012-256-paramSetA', curve: TC26_256_A },
  // TC26 sets B, C and D are CryptoPro A, B and C under new names (R 1323565.1.024).
  { oid: '1.2.643.7.1.2.1.1.2', name: 'id-tc26-gost-3410-2012-256-paramSetB', curve: 'S-256-A' },
  { oid: '1.2.643.7.1.2.1.1.3', name: 'id-tc26-gost-3410-2012-256-paramSetC', curve: 'S-256-B' },
  { oid: '1.2.643.7.1.2.1.1.4', name: 'id-tc26-gost-3410-2012-256-paramSetD', curve: 'S-256-C' },
];

/** Sets a key or certificate may name that this service refuses, by name for the message. */
const REFUSED: Record<string, string> = {
  '1.2.643.2.2.35.0': 'id-GostR3410-2001-TestParamSet (test parameters)',
  '1.2.643.7.1.2.1.2.0': 'id-tc26-gost-3410-2012-512-paramSetTest (512-bit)',
  '1.2.643.7.1.2.1.2.1': 'id-tc26-gost-3410-2012-512-paramSetA (512-bit)',
  '1.2.643.7.1.2.1.2.2': 'id-tc26-gost-3410-2012-512-paramSetB (512-bit)',
  '1.2.643.7.1.2.1.2.3': 'id-tc26-gost-3410-2012-512-paramSetC (512-bit)',
};

export class UnsupportedGostParameters extends Error {
  constructor(readonly oid: string) {
    super(
      `GOST R 34.10-2012 parameter set ${REFUSED[oid] ?? 'unknown'} (${oid}) is not supported: ` +
        `use one of ${SETS.map((set) => set.name).join(', ')}`,
    );
    this.name = 'UnsupportedGostParameters';
  }
}

export const GOST_PARAMETER_SETS: readonly GostParameterSet[] = SETS;

/** The set an OID names, or UnsupportedGostParameters naming it. */
export function gostParameterSet(oid: string): GostParameterSet {
  const set = SETS.find((candidate) => candidate.oid === oid);
  if (!set) throw new UnsupportedGostParameters(oid);
  return set;
}

/** What `openssl genpkey -algorithm gost2012_256` makes without `paramset:`. */
export const CRYPTOPRO_A = gostParameterSet('1.2.643.2.2.35.1');

export interface GostPrivateKey {
  parameterSet: GostParameterSet;
  /** 32 bytes, little-endian. */
  d: Buffer;
}

export interface GostPublicKey {
  parameterSet: GostParameterSet;
  /** x || y, 32 bytes each, little-endian. */
  point: Buffer;
}

export const GOST_PRIVATE_KEY_BYTES = 32;
export const GOST_PUBLIC_KEY_BYTES = 64;
export const GOST_SIGNATURE_BYTES = 64;

const bytes = (value: ArrayBuffer) => Buffer.from(new Uint8Array(value));

function cipher(set: GostParameterSet) {
  return gost.GostEngine.getGostSign({
    name: 'GOST R 34.10',
    version: 2012,
    mode: 'SIGN',
    length: 256,
    procreator: 'CP',
    keySize: 32,
    hash: HASH,
    ...(typeof set.curve === 'string' ? { namedCurve: set.curve } : { curve: set.curve }),
  });
}

export function streebog256(data: Uint8Array): Buffer {
  return bytes(gost.GostEngine.getGostDigest(HASH).digest(data));
}

export function generateGostKeyPair(parameterSet: GostParameterSet = CRYPTOPRO_A): {
  privateKey: GostPrivateKey;
  publicKey: GostPublicKey;
} {
  const pair = cipher(parameterSet).generateKey();
  return {
    privateKey: { parameterSet, d: bytes(pair.privateKey) },
    publicKey: { parameterSet, point: bytes(pair.publicKey) },
  };
}

/** How many fresh nonces a signature may take; see gostSign. */
const SIGN_ATTEMPTS = 4;

/**
 * The raw 64-byte signature, s || r big-endian (RFC 4491), as OpenSSL and ЕСИА have it.
 *
 * crypto-gost-js 2.0.1 has a latent bug: one rare branch of its modular inverse calls an undefined
 * `subtract` (a ReferenceError; seen once in a CI run, none in 8,000 signatures here). Which branch
 * runs depends on the random nonce k, so a signature that hits it is simply made again with a new
 * one: every attempt is a complete, independent GOST signature.
 */
export function gostSign(key: GostPrivateKey, data: Uint8Array): Buffer {
  if (key.d.length !== GOST_PRIVATE_KEY_BYTES)
    throw new Error('a GOST R 34.10-2012 (256) private key is 32 bytes');
  for (let attempt = 1; ; attempt++) {
    try {
      return bytes(cipher(key.parameterSet).sign(key.d, data));
    } catch (error) {
      if (!(error instanceof ReferenceError) || attempt >= SIGN_ATTEMPTS) throw error;
    }
  }
}

export function gostVerify(key: GostPublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  if (key.point.length !== GOST_PUBLIC_KEY_BYTES || signature.length !== GOST_SIGNATURE_BYTES)
    return false;
  // The library checks r, s < q but not r, s > 0 (GOST R 34.10 requires both): a zero key with a
  // zero signature would "verify".
  const zero = (bytes: Uint8Array) => bytes.every((byte) => byte === 0);
  if (zero(key.point) || zero(signature.subarray(0, 32)) || zero(signature.subarray(32)))
    return false;
  try {
    return cipher(key.parameterSet).verify(key.point, signature, data);
  } catch {
    return false;
  }
}

/** Byte order of CryptoPro's tools (csptest): the whole value reversed. */
export function reverseBytes(value: Uint8Array): Buffer {
  return Buffer.from(value).reverse();
}
