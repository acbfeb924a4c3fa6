import gost from '@wavesenterprise/crypto-gost-js';

/**
 * GOST R 34.10-2012 (256) signatures and GOST R 34.11-2012 (Streebog-256) hashes, in process,
 * with crypto-gost-js in its CryptoPro mode (the algorithm its own wrapper uses). That library
 * works in little-endian order, as CryptoPro and X.509 do; ЕСИА wants the signature as OpenSSL
 * with gost-engine prints it, s || r big-endian, so signatures are reversed at this boundary.
 * Private keys are 32 bytes and public keys 64 bytes, both in the library's (X.509) order.
 */
const HASH = {
  name: 'GOST R 34.11',
  version: 2012,
  mode: 'HASH',
  length: 256,
  procreator: 'CP',
  keySize: 32,
};
const SIGN = {
  name: 'GOST R 34.10',
  version: 2012,
  mode: 'SIGN',
  length: 256,
  procreator: 'CP',
  keySize: 32,
  namedCurve: 'S-256-A',
  hash: HASH,
};

export const GOST_PRIVATE_KEY_BYTES = 32;
export const GOST_PUBLIC_KEY_BYTES = 64;
export const GOST_SIGNATURE_BYTES = 64;

const bytes = (value: ArrayBuffer) => Buffer.from(new Uint8Array(value));

export function streebog256(data: Uint8Array): Buffer {
  return bytes(gost.GostEngine.getGostDigest(HASH).digest(data));
}

export function generateGostKeyPair(): { privateKey: Buffer; publicKey: Buffer } {
  const pair = gost.GostEngine.getGostSign(SIGN).generateKey();
  return { privateKey: bytes(pair.privateKey), publicKey: bytes(pair.publicKey) };
}

/** The signature in ЕСИА's (OpenSSL's) order: s || r, big-endian. */
export function gostSign(privateKey: Uint8Array, data: Uint8Array): Buffer {
  if (privateKey.length !== GOST_PRIVATE_KEY_BYTES)
    throw new Error('a GOST R 34.10-2012 (256) private key is 32 bytes');
  return reverseBytes(new Uint8Array(gost.GostEngine.getGostSign(SIGN).sign(privateKey, data)));
}

export function gostVerify(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== GOST_PUBLIC_KEY_BYTES || signature.length !== GOST_SIGNATURE_BYTES)
    return false;
  // The library does not range-check: a zero key with a zero signature would "verify".
  if (publicKey.every((byte) => byte === 0) || signature.every((byte) => byte === 0)) return false;
  try {
    return gost.GostEngine.getGostSign(SIGN).verify(publicKey, reverseBytes(signature), data);
  } catch {
    return false;
  }
}

/** Byte order of X.509 SubjectPublicKeyInfo and CryptoPro: the whole value reversed. */
export function reverseBytes(value: Uint8Array): Buffer {
  return Buffer.from(value).reverse();
}
