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

/** The CryptoPro curves (RFC 4357), as crypto-gost-js names them S-256-A, -B and -C. */
const CRYPTOPRO_A_CURVE: Curve = {
  p: '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97',
  a: '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD94',
  b: '0xA6',
  q: '0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893',
  x: '0x1',
  y: '0x8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14',
};
const CRYPTOPRO_B_CURVE: Curve = {
  p: '0x8000000000000000000000000000000000000000000000000000000000000C99',
  a: '0x8000000000000000000000000000000000000000000000000000000000000C96',
  b: '0x3E1AF419A269A5F866A7D3C25C3DF80AE979259373FF2B182F49D4CE7E1BBC8B',
  q: '0x800000000000000000000000000000015F700CFFF1A624E5E497161BCC8A198F',
  x: '0x1',
  y: '0x3FA8124359F96680B83D1C3EB2C070E5C545C9858D03ECFB744BF8D717717EFC',
};
const CRYPTOPRO_C_CURVE: Curve = {
  p: '0x9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B',
  a: '0x9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D7598',
  b: '0x805A',
  q: '0x9B9F605F5A858107AB1EC85E6B41C8AA582CA3511EDDFB74F02F3A6598980BB9',
  x: '0x0',
  y: '0x41ECE55743711A8C3CBF3783CD08C0EE4D4DC440D4641A8F366E550DFDB3BB67',
};

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
  curve: Curve;
}

const SETS: GostParameterSet[] = [
  {
    oid: '1.2.643.2.2.35.1',
    name: 'id-GostR3410-2001-CryptoPro-A-ParamSet',
    curve: CRYPTOPRO_A_CURVE,
  },
  {
    oid: '1.2.643.2.2.35.2',
    name: 'id-GostR3410-2001-CryptoPro-B-ParamSet',
    curve: CRYPTOPRO_B_CURVE,
  },
  {
    oid: '1.2.643.2.2.35.3',
    name: 'id-GostR3410-2001-CryptoPro-C-ParamSet',
    curve: CRYPTOPRO_C_CURVE,
  },
  // The exchange sets name the same curves as A and C.
  {
    oid: '1.2.643.2.2.36.0',
    name: 'id-GostR3410-2001-CryptoPro-XchA-ParamSet',
    curve: CRYPTOPRO_A_CURVE,
  },
  {
    oid: '1.2.643.2.2.36.1',
    name: 'id-GostR3410-2001-CryptoPro-XchB-ParamSet',
    curve: CRYPTOPRO_C_CURVE,
  },
  { oid: '1.2.643.7.1.2.1.1.1', name: 'id-tc26-gost-3410-2012-256-paramSetA', curve: TC26_256_A },
  // TC26 sets B, C and D are CryptoPro A, B and C under new names (R 1323565.1.024).
  {
    oid: '1.2.643.7.1.2.1.1.2',
    name: 'id-tc26-gost-3410-2012-256-paramSetB',
    curve: CRYPTOPRO_A_CURVE,
  },
  {
    oid: '1.2.643.7.1.2.1.1.3',
    name: 'id-tc26-gost-3410-2012-256-paramSetC',
    curve: CRYPTOPRO_B_CURVE,
  },
  {
    oid: '1.2.643.7.1.2.1.1.4',
    name: 'id-tc26-gost-3410-2012-256-paramSetD',
    curve: CRYPTOPRO_C_CURVE,
  },
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
    curve: set.curve,
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

interface BigCurve {
  p: bigint;
  a: bigint;
  b: bigint;
  q: bigint;
  x: bigint;
  y: bigint;
}
type Affine = { x: bigint; y: bigint };
/** Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = { X: bigint; Y: bigint; Z: bigint };
const INFINITY: Jacobian = { X: 1n, Y: 1n, Z: 0n };

const bigCurves = new Map<GostParameterSet, BigCurve>();
function curveOf(set: GostParameterSet): BigCurve {
  let c = bigCurves.get(set);
  if (!c) {
    const { p, a, b, q, x, y } = set.curve;
    c = { p: BigInt(p), a: BigInt(a), b: BigInt(b), q: BigInt(q), x: BigInt(x), y: BigInt(y) };
    bigCurves.set(set, c);
  }
  return c;
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
const bigEndian = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const littleEndian = (bytes: Uint8Array) => bigEndian(Buffer.from(bytes).reverse());

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0, m);
}

function onCurve({ x, y }: Affine, c: BigCurve): boolean {
  return x < c.p && y < c.p && mod(y * y - (x * x * x + c.a * x + c.b), c.p) === 0n;
}

function doubleJ({ X, Y, Z }: Jacobian, c: BigCurve): Jacobian {
  if (Z === 0n || Y === 0n) return INFINITY;
  const p = c.p;
  const Y2 = mod(Y * Y, p);
  const S = mod(4n * X * Y2, p);
  const Z2 = mod(Z * Z, p);
  const M = mod(3n * X * X + c.a * Z2 * Z2, p);
  const X3 = mod(M * M - 2n * S, p);
  return { X: X3, Y: mod(M * (S - X3) - 8n * Y2 * Y2, p), Z: mod(2n * Y * Z, p) };
}

function addJ(P: Jacobian, Q: Jacobian, c: BigCurve): Jacobian {
  if (P.Z === 0n) return Q;
  if (Q.Z === 0n) return P;
  const p = c.p;
  const PZ2 = mod(P.Z * P.Z, p);
  const QZ2 = mod(Q.Z * Q.Z, p);
  const U1 = mod(P.X * QZ2, p);
  const U2 = mod(Q.X * PZ2, p);
  const S1 = mod(P.Y * QZ2 * Q.Z, p);
  const S2 = mod(Q.Y * PZ2 * P.Z, p);
  if (U1 === U2) return S1 === S2 ? doubleJ(P, c) : INFINITY;
  const H = mod(U2 - U1, p);
  const R = mod(S2 - S1, p);
  const H2 = mod(H * H, p);
  const H3 = mod(H2 * H, p);
  const X3 = mod(R * R - H3 - 2n * U1 * H2, p);
  return {
    X: X3,
    Y: mod(R * (U1 * H2 - X3) - S1 * H3, p),
    Z: mod(H * P.Z * Q.Z, p),
  };
}

function multiplyJ(k: bigint, { x, y }: Affine, c: BigCurve): Jacobian {
  let result = INFINITY;
  let addend: Jacobian = { X: x, Y: y, Z: 1n };
  for (let rest = k; rest > 0n; rest >>= 1n) {
    if (rest & 1n) result = addJ(result, addend, c);
    addend = doubleJ(addend, c);
  }
  return result;
}

function toAffine({ X, Y, Z }: Jacobian, c: BigCurve): Affine | null {
  if (Z === 0n) return null;
  const zInverse = inverse(Z, c.p);
  const z2 = mod(zInverse * zInverse, c.p);
  return { x: mod(X * z2, c.p), y: mod(Y * z2 * zInverse, c.p) };
}

/** Byte order of CryptoPro's tools (csptest): the whole value reversed. */
export function reverseBytes(value: Uint8Array): Buffer {
  return Buffer.from(value).reverse();
}
