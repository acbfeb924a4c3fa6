import {
  createPublicKey,
  createSign,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { children, decodeOid, der, derToPem, pemToDer, readTlv } from './der.js';
import { gostSign, reverseBytes, streebog256 } from './gost.js';

/** OIDs of GOST R 34.10-2012 (256) keys and signatures (R 1323565.1.024). */
export const OID = {
  gost2012_256: '1.2.643.7.1.1.1.1',
  gostSignWithDigest2012_256: '1.2.643.7.1.1.3.2',
  streebog256: '1.2.643.7.1.1.2.2',
  cryptoProA: '1.2.643.2.2.35.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
};

export type CertificateKey =
  { kind: 'gost2012-256'; publicKey: Buffer } | { kind: 'rsa'; publicKey: KeyObject };

/** A configured certificate: its DER bytes and the key tokens are checked against. */
export interface LoadedCertificate {
  der: Buffer;
  key: CertificateKey;
  subject: string;
}

/** Reads a PEM or DER certificate, RSA or GOST R 34.10-2012 (256). */
export function loadCertificate(content: Buffer): LoadedCertificate {
  const text = content.toString('latin1');
  const data = text.includes('-----BEGIN CERTIFICATE-----') ? pemToDer(text) : content;
  const [tbs] = children(readTlv(data));
  const fields = children(tbs);
  // tbsCertificate: [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo
  const offset = fields[0].tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  const spki = fields[offset + 5];
  const [algorithm, bitString] = children(spki);
  const algorithmOid = decodeOid(children(algorithm)[0].content);
  const subjectName = describeName(subject);
  if (algorithmOid === OID.gost2012_256) {
    // BIT STRING (no unused bits) wrapping an OCTET STRING of x || y, little-endian.
    const octets = readTlv(bitString.content.subarray(1));
    if (octets.tag !== 0x04 || octets.content.length !== 64)
      throw new Error('unexpected GOST public key encoding');
    return {
      der: Buffer.from(data),
      subject: subjectName,
      key: { kind: 'gost2012-256', publicKey: Buffer.from(octets.content) },
    };
  }
  if (algorithmOid === OID.rsaEncryption) {
    return {
      der: Buffer.from(data),
      subject: subjectName,
      key: { kind: 'rsa', publicKey: new X509Certificate(data).publicKey },
    };
  }
  throw new Error(
    `certificate key algorithm ${algorithmOid} is not supported (RSA or GOST R 34.10-2012 256 only)`,
  );
}

function describeName(name: ReturnType<typeof readTlv>): string {
  for (const rdn of children(name)) {
    for (const attribute of children(rdn)) {
      const [type, value] = children(attribute);
      if (decodeOid(type.content) === OID.commonName) return value.content.toString('utf8');
    }
  }
  return '';
}

/** `client_certificate_hash`: hex Streebog-256 of the certificate's DER bytes (never of the PEM text). */
export function certificateHash(certificate: LoadedCertificate): string {
  return streebog256(certificate.der).toString('hex');
}

function name(commonName: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8(commonName))));
}

/**
 * A self-signed certificate for development and tests (the ЕСИА stand-in's token keys, the
 * development system certificate). Production certificates come from an accredited CA.
 */
export function selfSignedCertificate(
  commonName: string,
  key:
    | { kind: 'gost2012-256'; privateKey: Buffer; publicKey: Buffer }
    | { kind: 'rsa'; privateKey: KeyObject },
): string {
  const now = new Date();
  const validity = der.sequence(
    der.utcTime(new Date(now.getTime() - 86_400_000)),
    der.utcTime(new Date(now.getTime() + 5 * 365 * 86_400_000)),
  );
  const gost = key.kind === 'gost2012-256';
  const signatureAlgorithm = gost
    ? der.sequence(der.oid(OID.gostSignWithDigest2012_256))
    : der.sequence(der.oid(OID.sha256WithRsa), der.null());
  const spki = gost
    ? der.sequence(
        der.sequence(
          der.oid(OID.gost2012_256),
          der.sequence(der.oid(OID.cryptoProA), der.oid(OID.streebog256)),
        ),
        der.bitString(der.octetString(key.publicKey)),
      )
    : createPublicKey(key.privateKey).export({ format: 'der', type: 'spki' });
  const serial = randomBytes(8);
  const tbs = der.sequence(
    der.explicit(0, der.integer(Buffer.from([2]))),
    der.integer(serial),
    signatureAlgorithm,
    name(commonName),
    validity,
    name(commonName),
    spki,
  );
  const signature = gost
    ? reverseBytes(gostSign(key.privateKey, tbs)) // X.509 keeps GOST signatures in little-endian order
    : createSign('sha256').update(tbs).sign(key.privateKey);
  return derToPem(der.sequence(tbs, signatureAlgorithm, der.bitString(signature)));
}
