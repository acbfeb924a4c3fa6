/**
 * Elliptic-curve arithmetic in native BigInt for GOST signature verification: Jacobian
 * coordinates keep the scalar multiplication free of a modular inverse per step.
 */
import { type GostParameterSet } from './gost-curves.js';

export interface BigCurve {
  p: bigint;
  a: bigint;
  b: bigint;
  q: bigint;
  x: bigint;
  y: bigint;
}
export type Affine = { x: bigint; y: bigint };
/** Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jacobian = { X: bigint; Y: bigint; Z: bigint };
const INFINITY: Jacobian = { X: 1n, Y: 1n, Z: 0n };

const bigCurves = new Map<GostParameterSet, BigCurve>();
export function curveOf(set: GostParameterSet): BigCurve {
  let c = bigCurves.get(set);
  if (!c) {
    const { p, a, b, q, x, y } = set.curve;
    c = { p: BigInt(p), a: BigInt(a), b: BigInt(b), q: BigInt(q), x: BigInt(x), y: BigInt(y) };
    bigCurves.set(set, c);
  }
  return c;
}

export const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
export const bigEndian = (bytes: Uint8Array) =>
  BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
export const littleEndian = (bytes: Uint8Array) => bigEndian(Buffer.from(bytes).reverse());

export function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0, m);
}

export function onCurve({ x, y }: Affine, c: BigCurve): boolean {
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

export function addJ(P: Jacobian, Q: Jacobian, c: BigCurve): Jacobian {
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

export function multiplyJ(k: bigint, { x, y }: Affine, c: BigCurve): Jacobian {
  let result = INFINITY;
  let addend: Jacobian = { X: x, Y: y, Z: 1n };
  for (let rest = k; rest > 0n; rest >>= 1n) {
    if (rest & 1n) result = addJ(result, addend, c);
    addend = doubleJ(addend, c);
  }
  return result;
}

export function toAffine({ X, Y, Z }: Jacobian, c: BigCurve): Affine | null {
  if (Z === 0n) return null;
  const zInverse = inverse(Z, c.p);
  const z2 = mod(zInverse * zInverse, c.p);
  return { x: mod(X * z2, c.p), y: mod(Y * z2 * zInverse, c.p) };
}
