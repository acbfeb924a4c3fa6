import { describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EsiaConfig } from '../src/config/gosuslugi.config.js';
import {
  certificateHash,
  gostPrivateKeyPem,
  loadCertificate,
  parseGostPrivateKey,
  selfSignedCertificate,
} from '../src/gosuslugi/esia/certificates.js';
import { clientSecretText, esiaTimestamp } from '../src/gosuslugi/esia/esia-format.js';
import { GOST_PARAMETER_SETS, gostParameterSet } from '../src/gosuslugi/esia/gost-curves.js';
import {
  generateGostKeyPair,
  gostVerify,
  reverseBytes,
  type GostPublicKey,
} from '../src/gosuslugi/esia/gost.js';
import { createSigner } from '../src/gosuslugi/esia/signer.js';
import { verifyEsiaJwt } from '../src/gosuslugi/esia/token-verifier.js';
import { openssl, opensslGostKey, opensslSign, opensslVerify } from './support/openssl.js';

/**
 * The GOST half of ЕСИА interop, against an implementation this project did not write: OpenSSL
 * with Debian's gost engine, which is what ЕСИА's public clients check their output with. If the
 * service's signature byte order were CryptoPro's (reversed), every test here fails.
 */
const localSigner = (keyFile: string): EsiaConfig =>
  ({ signer: { kind: 'local', keyFile }, signatureByteOrder: 'as-is' }) as EsiaConfig;

const clientSecretTexts = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    clientSecretText({
      clientId: 'IDENTITYLINK',
      scope: 'openid fullname',
      timestamp: esiaTimestamp(new Date(Date.now() + i * 1000)),
      state: randomUUID(),
      redirectUri: 'https://il.example/auth/gosuslugi/callback',
      ...(i % 2 ? { code: `code-${i}` } : {}),
    }),
  );

const flip = (signature: Buffer, index: number) => {
  const copy = Buffer.from(signature);
  copy[index] ^= 0x01;
  return copy;
};

function gostJwt(claims: object, sign: (signed: Buffer) => Promise<Buffer>) {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode({ alg: 'GOST3410_2012_256', typ: 'JWT', ver: 1 })}.${encode(claims)}`;
  return sign(Buffer.from(signed, 'ascii')).then(
    (signature) => `${signed}.${signature.toString('base64url')}`,
  );
}

// Dozens of openssl processes per test: on a busy machine that takes more than Jest's default 5 s.
jest.setTimeout(60_000);

describe('GOST R 34.10-2012 against OpenSSL (gost engine)', () => {
  it('client_secret made by the local signer verifies with `openssl dgst -verify`, 20 texts of 20', async () => {
    const { keyFile, certificateFile } = await opensslGostKey('A');
    const certificate = loadCertificate(await readFile(certificateFile));
    const signer = await createSigner(localSigner(keyFile), certificate);
    const results = [];
    for (const text of clientSecretTexts(20)) {
      const signature = await signer.sign(text);
      expect(signature).toHaveLength(64);
      results.push(await opensslVerify(certificateFile, Buffer.from(text), signature));
    }
    expect(results).toEqual(Array(20).fill(true));
  });

  it('OpenSSL refuses a client_secret with one flipped byte, and the byte-reversed one', async () => {
    const { keyFile, certificateFile } = await opensslGostKey('A');
    const signer = await createSigner(
      localSigner(keyFile),
      loadCertificate(await readFile(certificateFile)),
    );
    const [text] = clientSecretTexts(1);
    const signature = await signer.sign(text);
    expect(await opensslVerify(certificateFile, Buffer.from(text), signature)).toBe(true);
    expect(await opensslVerify(certificateFile, Buffer.from(text), flip(signature, 5))).toBe(false);
    expect(await opensslVerify(certificateFile, Buffer.from(text), reverseBytes(signature))).toBe(
      false,
    );
  });

  it('a GOST3410_2012_256 token signed by OpenSSL is accepted; a flipped byte or the reversed signature is refused', async () => {
    const { keyFile, certificateFile } = await opensslGostKey('A');
    const certificates = [loadCertificate(await readFile(certificateFile))];
    const claims = { iss: 'http://esia.gosuslugi.ru/', sub: 1000000001, aud: 'IDENTITYLINK' };
    const token = await gostJwt(claims, (signed) => opensslSign(keyFile, signed));
    expect(await verifyEsiaJwt(token, certificates)).toMatchObject(claims);

    const [head, body, signature] = token.split('.');
    const raw = Buffer.from(signature, 'base64url');
    for (const bad of [flip(raw, 0), flip(raw, 63), reverseBytes(raw)]) {
      await expect(
        verifyEsiaJwt(`${head}.${body}.${bad.toString('base64url')}`, certificates),
      ).rejects.toThrow(/signature does not verify/);
    }
  });

  // OpenSSL's paramset names and the OIDs R 1323565.1.024 gives them.
  it.each([
    ['A', '1.2.643.2.2.35.1'],
    ['B', '1.2.643.2.2.35.2'],
    ['C', '1.2.643.2.2.35.3'],
    ['XA', '1.2.643.2.2.36.0'],
    ['XB', '1.2.643.2.2.36.1'],
    ['TCA', '1.2.643.7.1.2.1.1.1'],
    ['TCB', '1.2.643.7.1.2.1.1.2'],
    ['TCC', '1.2.643.7.1.2.1.1.3'],
    ['TCD', '1.2.643.7.1.2.1.1.4'],
  ])(
    'parameter set %s (%s): the service signs what OpenSSL verifies and verifies what OpenSSL signs',
    async (paramset, oid) => {
      const { keyFile, certificateFile } = await opensslGostKey(paramset);
      const certificate = loadCertificate(await readFile(certificateFile));
      const publicKey = certificate.key.publicKey as GostPublicKey;
      expect(publicKey.parameterSet.oid).toBe(oid);

      const signer = await createSigner(localSigner(keyFile), certificate);
      const [text] = clientSecretTexts(1);
      expect(await opensslVerify(certificateFile, Buffer.from(text), await signer.sign(text))).toBe(
        true,
      );
      const theirs = await opensslSign(keyFile, Buffer.from(text));
      expect(gostVerify(publicKey, Buffer.from(text), theirs)).toBe(true);
      expect(gostVerify(publicKey, Buffer.from(text), flip(theirs, 17))).toBe(false);
    },
  );

  it('refuses a key and certificate on the test parameter set, naming it', async () => {
    const { keyFile, certificateFile } = await opensslGostKey('0');
    const content = await readFile(certificateFile);
    expect(() => loadCertificate(content)).toThrow(/id-GostR3410-2001-TestParamSet/);
    const cryptoProA = generateGostKeyPair().publicKey.parameterSet;
    await expect(
      readFile(keyFile).then((key) => parseGostPrivateKey(key, cryptoProA)),
    ).rejects.toThrow(/id-GostR3410-2001-TestParamSet/);
  });

  it('refuses a key that does not belong to the certificate, before anything is signed', async () => {
    const mine = await opensslGostKey('A');
    const other = await opensslGostKey('A');
    await expect(
      createSigner(
        localSigner(other.keyFile),
        loadCertificate(await readFile(mine.certificateFile)),
      ),
    ).rejects.toThrow(/is not the private key of the system certificate/);
  });

  it('reads the hex key `openssl pkey -text` prints, leading zeros dropped or not', async () => {
    const { dir } = await opensslGostKey('A');
    // A key whose most significant byte is zero, written as PKCS#8 and printed back by OpenSSL.
    const pair = generateGostKeyPair();
    pair.privateKey.d[31] = 0;
    const pem = join(dir, 'short.pem');
    await writeFile(pem, gostPrivateKeyPem(pair.privateKey));
    const printed = (await openssl(['pkey', '-in', pem, '-text', '-noout'])).toString();
    const hex = /Private key: ([0-9A-F]+)/.exec(printed)![1];
    expect(hex.length).toBeLessThan(64);
    const key = parseGostPrivateKey(Buffer.from(hex), pair.publicKey.parameterSet);
    expect(key.d).toEqual(pair.privateKey.d);
    // …and what it signs, OpenSSL verifies under a certificate OpenSSL made for that key.
    const certificateOfKey = join(dir, 'short.crt');
    await openssl([
      'req',
      '-x509',
      '-key',
      pem,
      '-md_gost12_256',
      '-subj',
      '/CN=short',
      '-days',
      '1',
      '-out',
      certificateOfKey,
    ]);
    const hexFile = join(dir, 'short.hex');
    await writeFile(hexFile, `${hex}\n`);
    const signer = await createSigner(
      localSigner(hexFile),
      loadCertificate(await readFile(certificateOfKey)),
    );
    const [text] = clientSecretTexts(1);
    expect(await opensslVerify(certificateOfKey, Buffer.from(text), await signer.sign(text))).toBe(
      true,
    );
  });

  it('client_certificate_hash equals `openssl dgst -md_gost12_256` of the DER certificate, in upper case', async () => {
    const { certificateFile } = await opensslGostKey('A');
    const der = await openssl(['x509', '-in', certificateFile, '-outform', 'DER']);
    const derFile = `${certificateFile}.der`;
    await writeFile(derFile, der);
    const printed = (await openssl(['dgst', '-md_gost12_256', derFile])).toString();
    const hash = /= ([0-9a-f]{64})/.exec(printed)![1];
    expect(certificateHash(loadCertificate(await readFile(certificateFile)))).toBe(
      hash.toUpperCase(),
    );
  });

  it('development certificates the service makes pass `openssl verify`, on every parameter set', async () => {
    for (const { oid } of GOST_PARAMETER_SETS) {
      const pair = generateGostKeyPair(gostParameterSet(oid));
      const { dir } = await opensslGostKey('A');
      const file = join(dir, `self-signed-${oid}.pem`);
      await writeFile(
        file,
        selfSignedCertificate('Identity Link (development)', { kind: 'gost2012-256', ...pair }),
      );
      expect((await openssl(['verify', '-CAfile', file, file])).toString()).toContain(': OK');
      // And OpenSSL reads the PKCS#8 key the service writes: it signs what the certificate verifies.
      const keyFile = join(dir, `self-signed-${oid}.key`);
      await writeFile(keyFile, gostPrivateKeyPem(pair.privateKey));
      const data = Buffer.from('development key');
      expect(gostVerify(pair.publicKey, data, await opensslSign(keyFile, data))).toBe(true);
    }
  });
});
