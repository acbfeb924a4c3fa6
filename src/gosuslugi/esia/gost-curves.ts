/**
 * The GOST R 34.10-2012 (256) parameter sets this service accepts, by OID, with the curve each
 * names, and the sets it refuses by name (test parameters, 512-bit), so an error can say which.
 */

/** Curve parameters in Weierstrass form, as big-endian hex. */
export interface Curve {
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
