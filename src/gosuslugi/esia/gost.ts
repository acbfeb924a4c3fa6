import type GostLibrary from '@wavesenterprise/crypto-gost-js';
import { createRequire } from 'node:module';
import {
  addJ,
  bigEndian,
  curveOf,
  inverse,
  littleEndian,
  mod,
  multiplyJ,
  onCurve,
  toAffine,
} from './gost-arithmetic.js';
import { CRYPTOPRO_A, type GostParameterSet } from './gost-curves.js';

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

/**
 * crypto-gost-js, loaded on first use: it holds some 4.6 MiB of heap that an instance not
 * connected to ЕСИА never needs. The package is CommonJS, so it loads synchronously and the
 * functions below stay synchronous.
 */
let library: typeof GostLibrary | undefined;
function gostLibrary(): typeof GostLibrary {
  return (library ??= createRequire(import.meta.url)(
    '@wavesenterprise/crypto-gost-js',
  ) as typeof GostLibrary);
}

const bytes = (value: ArrayBuffer) => Buffer.from(new Uint8Array(value));

function cipher(set: GostParameterSet) {
  return gostLibrary().GostEngine.getGostSign({
    name: 'GOST R 34.10',
    version: 2012,
    mode: 'SIGN',
    length: 256,
    procreator: 'CP',
    keySize: 32,
    hash: HASH,
    curve: set.curve,
  });
}

export function streebog256(data: Uint8Array): Buffer {
  return bytes(gostLibrary().GostEngine.getGostDigest(HASH).digest(data));
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

/**
 * Verification in native BigInt arithmetic (GOST R 34.10-2012, section 7), not the library's: its
 * modular inverse has a branch that throws (see gostSign), and unlike a signature a verification
 * cannot be retried with other inputs. Checked against OpenSSL on every parameter set
 * (test/esia-openssl.spec.ts) and the standard's own example (gost.spec.ts).
 */
export function gostVerify(key: GostPublicKey, data: Uint8Array, signature: Uint8Array): boolean {
  if (key.point.length !== GOST_PUBLIC_KEY_BYTES || signature.length !== GOST_SIGNATURE_BYTES)
    return false;
  const c = curveOf(key.parameterSet);
  const s = bigEndian(signature.subarray(0, 32));
  const r = bigEndian(signature.subarray(32));
  if (r <= 0n || r >= c.q || s <= 0n || s >= c.q) return false;
  const Q = { x: littleEndian(key.point.subarray(0, 32)), y: littleEndian(key.point.subarray(32)) };
  if (!onCurve(Q, c)) return false;
  // e: the Streebog-256 digest read as a number, as the standard (and OpenSSL) read it.
  let e = mod(littleEndian(streebog256(data)), c.q);
  if (e === 0n) e = 1n;
  const v = inverse(e, c.q);
  const z1 = mod(s * v, c.q);
  const z2 = mod(-r * v, c.q);
  const C = toAffine(addJ(multiplyJ(z1, { x: c.x, y: c.y }, c), multiplyJ(z2, Q, c), c), c);
  return C !== null && mod(C.x, c.q) === r;
}

/** Byte order of CryptoPro's tools (csptest): the whole value reversed. */
export function reverseBytes(value: Uint8Array): Buffer {
  return Buffer.from(value).reverse();
}
