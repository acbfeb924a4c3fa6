import {
  createPublicKey,
  createSign,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { children, decodeOid, der, derToPem, pemToDer, readTlv, type Tlv } from './der.js';
import {
  GOST_PRIVATE_KEY_BYTES,
  gostSign,
  reverseBytes,
  streebog256,
  type GostPrivateKey,
  type GostPublicKey,
} from './gost.js';
import { gostParameterSet, type GostParameterSet } from './gost-curves.js';

/** OIDs of GOST R 34.10-2012 (256) keys and signatures (R 1323565.1.024). */
export const OID = {
  gost2012_256: '1.2.643.7.1.1.1.1',
  gostSignWithDigest2012_256: '1.2.643.7.1.1.3.2',
  streebog256: '1.2.643.7.1.1.2.2',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
};

export type CertificateKey =
  { kind: 'gost2012-256'; publicKey: GostPublicKey } | { kind: 'rsa'; publicKey: KeyObject };

/** A configured certificate: its DER bytes and the key tokens are checked against. */
export interface LoadedCertificate {
  der: Buffer;
  key: CertificateKey;
  subject: string;
}

/**
 * The parameter set of a GOST R 34.10-2012 (256) AlgorithmIdentifier: SEQUENCE { OID, SEQUENCE {
 * publicKeyParamSet OID, digestParamSet OID (CryptoPro sets only) } }. Throws naming an
 * unsupported set.
 */
function gostAlgorithmParameters(algorithm: Tlv): GostParameterSet {
  const [oid, parameters] = children(algorithm);
  const algorithmOid = decodeOid(oid.content);
  if (algorithmOid !== OID.gost2012_256)
    throw new Error(`key algorithm ${algorithmOid} is not GOST R 34.10-2012 (256)`);
  if (parameters?.tag !== 0x30) throw new Error('GOST key parameters are missing');
  return gostParameterSet(decodeOid(children(parameters)[0].content));
}

/** Reads a PEM or DER certificate, RSA or GOST R 34.10-2012 (256) on a supported parameter set. */
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
    const parameterSet = gostAlgorithmParameters(algorithm);
    // BIT STRING (no unused bits) wrapping an OCTET STRING of x || y, little-endian.
    const octets = readTlv(bitString.content.subarray(1));
    if (octets.tag !== 0x04 || octets.content.length !== 64)
      throw new Error('unexpected GOST public key encoding');
    return {
      der: Buffer.from(data),
      subject: subjectName,
      key: {
        kind: 'gost2012-256',
        publicKey: { parameterSet, point: Buffer.from(octets.content) },
      },
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

/**
 * `client_certificate_hash`: Streebog-256 of the certificate's DER bytes (never of the PEM text),
 * in upper-case hex as cpverify prints it and the public ЕСИА clients send it.
 */
export function certificateHash(certificate: LoadedCertificate): string {
  return streebog256(certificate.der).toString('hex').toUpperCase();
}

/**
 * A GOST R 34.10-2012 (256) private key: PKCS#8 PEM as `openssl genpkey -algorithm gost2012_256`
 * writes it (the parameter set is read from it), or the 32-byte key in hex, big-endian as
 * `openssl pkey -text` prints it (which drops leading zeros; the set then comes from the
 * certificate). Encrypted and CryptoPro-masked keys are refused: export them unmasked, or sign
 * with the `command` signer.
 */
export function parseGostPrivateKey(
  content: Buffer,
  certificateSet: GostParameterSet,
  source = 'the key',
): GostPrivateKey {
  const text = content.toString('latin1');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----'))
    throw new Error(`${source} is encrypted: export it without a password (openssl pkey)`);
  if (text.includes('-----BEGIN PRIVATE KEY-----')) {
    const [version, algorithm, privateKey] = children(readTlv(pemToDer(text, 'PRIVATE KEY')));
    if (version?.tag !== 0x02 || algorithm?.tag !== 0x30 || privateKey?.tag !== 0x04)
      throw new Error(`${source} is not a PKCS#8 private key`);
    const parameterSet = gostAlgorithmParameters(algorithm);
    if (parameterSet.oid !== certificateSet.oid)
      throw new Error(
        `${source} is on ${parameterSet.name}, the certificate on ${certificateSet.name}`,
      );
    return { parameterSet, d: pkcs8GostKey(privateKey.content, source) };
  }
  const hex = text.replace(/[\s:]/g, '');
  if (!/^[0-9a-fA-F]{1,64}$/.test(hex))
    throw new Error(`${source} is neither a PKCS#8 PEM nor a 32-byte GOST private key in hex`);
  return {
    parameterSet: certificateSet,
    d: reverseBytes(Buffer.from(hex.padStart(64, '0'), 'hex')),
  };
}

/** The key inside PKCS#8: the raw little-endian octets, wrapped in an OCTET STRING, or an INTEGER. */
function pkcs8GostKey(content: Buffer, source: string): Buffer {
  if (content.length === GOST_PRIVATE_KEY_BYTES) return Buffer.from(content);
  const inner = readTlv(content);
  if (inner.raw.length === content.length) {
    if (inner.tag === 0x04 && inner.content.length === GOST_PRIVATE_KEY_BYTES)
      return Buffer.from(inner.content);
    if (inner.tag === 0x02) {
      const value = inner.content.subarray(Math.max(0, inner.content.length - 32));
      const digits = inner.content.subarray(0, inner.content.length - value.length);
      if (digits.every((byte) => byte === 0))
        return reverseBytes(Buffer.concat([Buffer.alloc(32 - value.length), value]));
    }
  }
  throw new Error(`${source}: masked or unknown GOST private key encoding (export it unmasked)`);
}

/** PKCS#8 PEM of a GOST key, as `openssl genpkey -algorithm gost2012_256` writes it. */
export function gostPrivateKeyPem(key: GostPrivateKey): string {
  return derToPem(
    der.sequence(
      der.integer(Buffer.from([0])),
      der.sequence(der.oid(OID.gost2012_256), gostKeyParameters(key.parameterSet)),
      der.octetString(key.d),
    ),
    'PRIVATE KEY',
  );
}

/** As OpenSSL writes them: the digest OID for the CryptoPro sets, none for TC26's. */
function gostKeyParameters(set: GostParameterSet): Buffer {
  return set.oid.startsWith('1.2.643.7.1.2.')
    ? der.sequence(der.oid(set.oid))
    : der.sequence(der.oid(set.oid), der.oid(OID.streebog256));
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
    | { kind: 'gost2012-256'; privateKey: GostPrivateKey; publicKey: GostPublicKey }
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
        der.sequence(der.oid(OID.gost2012_256), gostKeyParameters(key.publicKey.parameterSet)),
        der.bitString(der.octetString(key.publicKey.point)),
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
    ? gostSign(key.privateKey, tbs) // s || r, as RFC 4491 puts it in the BIT STRING
    : createSign('sha256').update(tbs).sign(key.privateKey);
  return derToPem(der.sequence(tbs, signatureAlgorithm, der.bitString(signature)));
}
