import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { loadCertificate, selfSignedCertificate } from './certificates.js';
import { describeEsiaError, esiaErrorCode, esiaErrorMessage } from './esia-errors.js';
import { generateGostKeyPair, gostSign } from './gost.js';
import { decodeSignature } from './signer.js';
import { verifyEsiaJwt } from './token-verifier.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rsaNext = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const gost = generateGostKeyPair();
const certificates = [
  loadCertificate(Buffer.from(selfSignedCertificate('old', { kind: 'rsa', privateKey: rsa }))),
  loadCertificate(Buffer.from(selfSignedCertificate('new', { kind: 'rsa', privateKey: rsaNext }))),
  loadCertificate(Buffer.from(selfSignedCertificate('gost', { kind: 'gost2012-256', ...gost }))),
];
// ЕСИА's subject is a number, which jose's JWTPayload type does not expect.
const claims = { sub: 1000000001, iss: 'http://esia.gosuslugi.ru/' } as unknown as {
  sub: string;
  iss: string;
};
const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('ЕСИА token verification', () => {
  it('accepts RS256 under any configured certificate (rotation) and GOST3410_2012_256', async () => {
    for (const key of [rsa, rsaNext]) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(key);
      expect(await verifyEsiaJwt(token, certificates)).toMatchObject(claims);
    }
    const signed = `${encode({ alg: 'GOST3410_2012_256', typ: 'JWT' })}.${encode(claims)}`;
    const token = `${signed}.${gostSign(gost.privateKey, Buffer.from(signed)).toString('base64url')}`;
    expect(await verifyEsiaJwt(token, certificates)).toMatchObject(claims);
  });

  it('refuses a key that is not configured, alg none, HS256 with a certificate as secret, and garbage', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await expect(
      verifyEsiaJwt(
        await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(stranger),
        certificates,
      ),
    ).rejects.toThrow(/signature/);
    await expect(
      verifyEsiaJwt(`${encode({ alg: 'none' })}.${encode(claims)}.`, certificates),
    ).rejects.toThrow(/none is not accepted/);
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(certificates[0].der);
    await expect(verifyEsiaJwt(hs, certificates)).rejects.toThrow(/HS256 is not accepted/);
    await expect(verifyEsiaJwt('a.b', certificates)).rejects.toThrow(/malformed/);
    const rsaOnly = certificates.slice(0, 2);
    const signed = `${encode({ alg: 'GOST3410_2012_256' })}.${encode(claims)}`;
    const gostToken = `${signed}.${gostSign(gost.privateKey, Buffer.from(signed)).toString('base64url')}`;
    await expect(verifyEsiaJwt(gostToken, rsaOnly)).rejects.toThrow(/signature/);
    // The relying party's refusal codes end in these (`id_token_signature`), not in the words.
    await expect(verifyEsiaJwt(gostToken, rsaOnly)).rejects.toMatchObject({ code: 'signature' });
    await expect(verifyEsiaJwt(hs, certificates)).rejects.toMatchObject({ code: 'algorithm' });
    await expect(verifyEsiaJwt('a.b', certificates)).rejects.toMatchObject({ code: 'malformed' });
  });
});

describe('ЕСИА errors and signer output', () => {
  it('maps known codes to Russian text and keeps unknown ones visible', () => {
    expect(esiaErrorCode('ESIA-007053: client_secret does not verify')).toBe('ESIA-007053');
    expect(esiaErrorMessage('ESIA-007023')).toContain('Адрес возврата не зарегистрирован');
    expect(esiaErrorMessage('ESIA-009999')).toContain('ESIA-009999');
    expect(esiaErrorCode('nothing here')).toBeNull();
  });

  it("never turns the provider's own words into a stable code; server errors are «недоступны»", () => {
    expect(describeEsiaError(null, 'invalid_grant')).toMatchObject({
      code: 'esia_oauth_invalid_grant',
      kind: 'rejected',
    });
    expect(describeEsiaError(null, '<script>x'.repeat(100))).toMatchObject({ code: 'esia_error' });
    for (const error of ['server_error', 'temporarily_unavailable', 'http_503'])
      expect(describeEsiaError(null, error)).toMatchObject({
        code: 'esia_unavailable',
        kind: 'unavailable',
      });
    expect(describeEsiaError(null, 'http_400')).toMatchObject({ code: 'esia_error' });
    expect(describeEsiaError(null, 'access_denied')).toMatchObject({ kind: 'cancelled' });
    expect(describeEsiaError('ESIA-009999', 'invalid_request').code).toBe('esia_error');
  });

  it('reads 64-byte signatures printed as raw bytes, hex, base64 or base64url, and refuses other lengths', () => {
    const raw = Buffer.alloc(64, 7);
    expect(decodeSignature(raw)).toEqual(raw);
    expect(decodeSignature(Buffer.from(raw.toString('hex')))).toEqual(raw);
    expect(decodeSignature(Buffer.from(raw.toString('base64') + '\n'))).toEqual(raw);
    expect(decodeSignature(Buffer.from(raw.toString('base64url')))).toEqual(raw);
    expect(() => decodeSignature(Buffer.from('abcd'))).toThrow(/not a 64-byte/);
  });
});
