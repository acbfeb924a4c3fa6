import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { certificateHash, loadCertificate, selfSignedCertificate } from './certificates.js';
import { der, pemToDer } from './der.js';
import {
  generateGostKeyPair,
  gostSign,
  gostVerify,
  streebog256,
  type GostPublicKey,
} from './gost.js';

describe('certificates', () => {
  it('makes a GOST certificate whose public key reads back and verifies signatures', () => {
    const pair = generateGostKeyPair();
    const pem = selfSignedCertificate('Identity Link (development)', {
      kind: 'gost2012-256',
      ...pair,
    });
    const loaded = loadCertificate(Buffer.from(pem));
    expect(loaded.subject).toBe('Identity Link (development)');
    expect(loaded.key.kind).toBe('gost2012-256');
    const data = Buffer.from('text');
    expect(
      gostVerify(
        (loaded.key as { publicKey: GostPublicKey }).publicKey,
        data,
        gostSign(pair.privateKey, data),
      ),
    ).toBe(true);
    // Node (OpenSSL without a GOST engine) still parses the structure.
    expect(new X509Certificate(pem).subject).toContain('Identity Link (development)');
  });

  it('makes an RSA certificate that Node reads and whose signature verifies', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = selfSignedCertificate('ЕСИА (тестовый стенд)', { kind: 'rsa', privateKey });
    const certificate = new X509Certificate(pem);
    expect(certificate.verify(publicKey)).toBe(true);
    const loaded = loadCertificate(Buffer.from(pem));
    expect(loaded.key.kind).toBe('rsa');
    expect(verify('sha256', Buffer.from('x'), publicKey, Buffer.alloc(256))).toBe(false);
  });

  it('encodes integers minimally, as DER (and OpenSSL) require', () => {
    expect(der.integer(Buffer.from([0x00, 0x05]))).toEqual(Buffer.from([0x02, 0x01, 0x05]));
    expect(der.integer(Buffer.from([0x00, 0x00, 0x85]))).toEqual(
      Buffer.from([0x02, 0x02, 0x00, 0x85]),
    );
    expect(der.integer(Buffer.from([0x85]))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x85]));
    expect(der.integer(Buffer.from([0x00]))).toEqual(Buffer.from([0x02, 0x01, 0x00]));
  });

  it('hashes the DER bytes, not the PEM text, into 64 upper-case hex characters', () => {
    const pem = selfSignedCertificate('x', { kind: 'gost2012-256', ...generateGostKeyPair() });
    const loaded = loadCertificate(Buffer.from(pem));
    const hash = certificateHash(loaded);
    expect(hash).toMatch(/^[0-9A-F]{64}$/);
    expect(hash).toBe(streebog256(pemToDer(pem)).toString('hex').toUpperCase());
    expect(hash).not.toBe(streebog256(Buffer.from(pem)).toString('hex').toUpperCase());
    expect(certificateHash(loadCertificate(pemToDer(pem)))).toBe(hash);
  });

  it('refuses garbage and a certificate with another key algorithm', () => {
    expect(() => loadCertificate(Buffer.from('not a certificate'))).toThrow();
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ec = selfSignedCertificate('x', { kind: 'rsa', privateKey });
    expect(() => loadCertificate(Buffer.from(ec))).toThrow(
      /1\.2\.840\.10045\.2\.1 is not supported/,
    );
  });
});
