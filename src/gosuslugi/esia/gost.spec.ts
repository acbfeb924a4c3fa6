import { describe, expect, it, jest } from '@jest/globals';
import gost from '@wavesenterprise/crypto-gost-js';
import { children, readTlv } from './der.js';
import { certificateHash, loadCertificate, parseGostPrivateKey } from './certificates.js';
import { CRYPTOPRO_A, gostParameterSet } from './gost-curves.js';
import {
  generateGostKeyPair,
  gostSign,
  gostVerify,
  reverseBytes,
  streebog256,
  type GostPublicKey,
} from './gost.js';

/**
 * Made once with OpenSSL 3.0 and Debian's gost engine (OPENSSL_CONF loading `gost`):
 *   openssl genpkey -algorithm gost2012_256 -pkeyopt paramset:A -out kat.pem
 *   openssl req -x509 -key kat.pem -md_gost12_256 -subj "/CN=Identity Link KAT" -days 3650 -out kat.crt
 *   openssl dgst -md_gost12_256 -sign kat.pem kat.txt | xxd -p -c 64
 *   openssl x509 -in kat.crt -outform DER | openssl dgst -md_gost12_256
 */
const KAT = {
  key: `-----BEGIN PRIVATE KEY-----
MEYCAQAwHwYIKoUDBwEBAQEwEwYHKoUDAgIjAQYIKoUDBwEBAgIEIHnEpcsK12A0
dYF2/ttYEpGddjoMCMzQTurYgghyuT2s
-----END PRIVATE KEY-----
`,
  certificate: `-----BEGIN CERTIFICATE-----
MIIBPDCB6AIUCGAInOP4HEwY5Ftqmy4U2H5B7bIwDAYIKoUDBwEBAwIFADAcMRow
GAYDVQQDDBFJZGVudGl0eSBMaW5rIEtBVDAeFw0yNjEyMDEyMzU3MjRaFw0zNjEx
MjgyMzU3MjRaMBwxGjAYBgNVBAMMEUlkZW50aXR5IExpbmsgS0FUMGYwHwYIKoUD
BwEBAQEwEwYHKoUDAgIjAQYIKoUDBwEBAgIDQwAEQNw/LiLvXTAfwg42/YmaDNWr
M+lTDE+wyo1uBRnceJ1Mjh3CKua2JyZ9aYxTMhlc7t0cuOI5MIhOkXD7eze+L9Uw
DAYIKoUDBwEBAwIFAANBADooIHV7kamrJaV//W5AbU7yvxCdAMUg++7shoWvnaUj
d0A8Olkw2gAt5sNqHBoq6QKI9Gsq+tY94z7CFB7V1WU=
-----END CERTIFICATE-----
`,
  text:
    'identity-link-devopenid fullname2026.12.01 12:00:00 +0300' +
    '4c1e1b05-7a2b-4d3e-9f10-1a2b3c4d5e6fhttps://il.example/auth/gosuslugi/callback',
  signature:
    'edde319103e63b8ea4492157ade7c282d27bf7da44e747dda12b687b2dc4c519' +
    '64a1b302a61c2cc544f3aaca876b89e60fe3549e9948c0e225435209ab0c33fa',
  textHash: '3421fb6022f42602545411251f70ea7074fb11d123549dc0ad5741d2b22d243b',
  certificateHash: 'C131D434B84F8E2FB60F5274651810D33565F6B8E7160C1DD48DB2DB56F56DC9',
};

describe('GOST primitives', () => {
  it('hashes with Streebog-256 as the standard says (empty message and "012…890" ×…)', () => {
    expect(streebog256(Buffer.alloc(0)).toString('hex')).toBe(
      '3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb',
    );
    // GOST R 34.11-2012, example 1 (the 63-byte message), as OpenSSL prints it.
    const message = Buffer.from(
      '012345678901234567890123456789012345678901234567890123456789012',
      'ascii',
    );
    expect(streebog256(message).toString('hex')).toBe(
      '9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500',
    );
  });

  it('known answer from OpenSSL: its signature verifies, its certificate reads, their hashes match', () => {
    const certificate = loadCertificate(Buffer.from(KAT.certificate));
    expect(certificate.key.kind).toBe('gost2012-256');
    const publicKey = certificate.key.publicKey as GostPublicKey;
    expect(publicKey.parameterSet).toBe(CRYPTOPRO_A);
    const text = Buffer.from(KAT.text);
    const signature = Buffer.from(KAT.signature, 'hex');
    expect(gostVerify(publicKey, text, signature)).toBe(true);
    // The order is the point: reversed (CryptoPro's order) it is another signature.
    expect(gostVerify(publicKey, text, reverseBytes(signature))).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[0] ^= 0x80;
    expect(gostVerify(publicKey, text, flipped)).toBe(false);
    expect(streebog256(text).toString('hex')).toBe(KAT.textHash);
    expect(certificateHash(certificate)).toBe(KAT.certificateHash);
    // The key OpenSSL wrote signs what its certificate verifies.
    const key = parseGostPrivateKey(Buffer.from(KAT.key), publicKey.parameterSet);
    expect(gostVerify(publicKey, text, gostSign(key, text))).toBe(true);
  });

  it('the certificate OpenSSL signed verifies under its own key: X.509 keeps s || r too', () => {
    const certificate = loadCertificate(Buffer.from(KAT.certificate));
    const [tbs, , signatureBits] = children(readTlv(certificate.der));
    expect(
      gostVerify(
        certificate.key.publicKey as GostPublicKey,
        tbs.raw,
        signatureBits.content.subarray(1),
      ),
    ).toBe(true);
  });

  it('reads a hex key that `openssl pkey -text` printed without its leading zeros', () => {
    const { privateKey, publicKey } = generateGostKeyPair();
    const d = Buffer.from(privateKey.d);
    d[31] = 0; // the most significant byte, little-endian
    const hex = reverseBytes(d).toString('hex').replace(/^0+/, '').toUpperCase();
    expect(hex.length).toBeLessThan(64);
    const read = parseGostPrivateKey(Buffer.from(`${hex}\n`), publicKey.parameterSet);
    expect(read.d).toEqual(d);
  });

  it('signs again with a new nonce when the library trips over its own undefined `subtract`', () => {
    const { privateKey, publicKey } = generateGostKeyPair();
    const real = gost.GostEngine.getGostSign.bind(gost.GostEngine);
    const spy = jest.spyOn(gost.GostEngine, 'getGostSign').mockImplementationOnce((algorithm) => ({
      ...real(algorithm),
      sign: () => {
        throw new ReferenceError('subtract is not defined');
      },
    }));
    try {
      const data = Buffer.from('text');
      const signature = gostSign(privateKey, data);
      expect(spy).toHaveBeenCalledTimes(2);
      expect(gostVerify(publicKey, data, signature)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('does not retry other failures', () => {
    const { privateKey } = generateGostKeyPair();
    const spy = jest.spyOn(gost.GostEngine, 'getGostSign').mockImplementation(() => {
      throw new TypeError('broken');
    });
    try {
      expect(() => gostSign(privateKey, Buffer.from('x'))).toThrow(TypeError);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('names an unsupported parameter set', () => {
    expect(() => gostParameterSet('1.2.643.2.2.35.0')).toThrow(/id-GostR3410-2001-TestParamSet/);
    expect(() => gostParameterSet('1.2.643.7.1.2.1.2.1')).toThrow(/512-bit/);
  });

  it('signs and verifies; a changed message or signature fails', () => {
    const { privateKey, publicKey } = generateGostKeyPair();
    const data = Buffer.from('client_id+scope+timestamp+state+redirect_uri');
    const signature = gostSign(privateKey, data);
    expect(signature).toHaveLength(64);
    expect(gostVerify(publicKey, data, signature)).toBe(true);
    expect(gostVerify(publicKey, Buffer.from('other'), signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[10] ^= 1;
    expect(gostVerify(publicKey, data, flipped)).toBe(false);
    expect(gostVerify(publicKey, data, Buffer.from(signature).reverse())).toBe(false);
    expect(
      gostVerify({ parameterSet: CRYPTOPRO_A, point: Buffer.alloc(64) }, data, Buffer.alloc(64)),
    ).toBe(false);
    // s = 0 or r = 0 alone is no signature either.
    const noS = Buffer.concat([Buffer.alloc(32), signature.subarray(32)]);
    const noR = Buffer.concat([signature.subarray(0, 32), Buffer.alloc(32)]);
    expect(gostVerify(publicKey, data, noS)).toBe(false);
    expect(gostVerify(publicKey, data, noR)).toBe(false);
  });

  it("GOST R 34.10-2012 appendix A.1: the library's CryptoPro mode gives the standard s || r, its plain mode the mirror", () => {
    // Test curve, fixed k, the digest e given directly.
    const le = (hex: string) => Buffer.from(hex, 'hex').reverse();
    const sign = (procreator?: string) =>
      Buffer.from(
        new Uint8Array(
          gost.GostEngine.getGostSign({
            name: 'GOST R 34.10',
            namedCurve: 'S-256-TEST',
            procreator,
            ukm: le('77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3'),
          } as never).sign(
            le('7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28'),
            le('2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5'),
          ),
        ),
      );
    const s = '01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40';
    const r = '41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493';
    expect(sign('CP').toString('hex').toUpperCase()).toBe(s + r);
    expect(reverseBytes(sign()).toString('hex').toUpperCase()).toBe(s + r);
  });
});
