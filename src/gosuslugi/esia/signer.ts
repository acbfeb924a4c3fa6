import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { type EsiaConfig } from '../../config/gosuslugi.config.js';
import { parseGostPrivateKey, type LoadedCertificate } from './certificates.js';
import {
  GOST_SIGNATURE_BYTES,
  gostSign,
  gostVerify,
  reverseBytes,
  type GostPrivateKey,
} from './gost.js';

/** Produces the raw 64-byte GOST R 34.10-2012 (256) signature of `client_secret` text. */
export interface ClientSecretSigner {
  sign(text: string): Promise<Buffer>;
}

const TIMEOUT_MS = 10_000;

/** Signers print hex, base64 or base64url; anything that is not 64 bytes is an error. */
export function decodeSignature(output: Buffer): Buffer {
  if (output.length === GOST_SIGNATURE_BYTES) return output;
  const text = output.toString('latin1').trim();
  const decoded = /^[0-9a-fA-F]{128}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]+=*$/.test(text)
      ? Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : Buffer.alloc(0);
  if (decoded.length !== GOST_SIGNATURE_BYTES) {
    throw new Error(
      `the signer returned ${decoded.length || output.length} bytes, not a 64-byte GOST signature`,
    );
  }
  return decoded;
}

/** Reads the system's private key (PKCS#8 PEM or hex) for the certificate it must belong to. */
export async function readGostKeyFile(
  file: string,
  certificate: LoadedCertificate,
): Promise<GostPrivateKey> {
  if (certificate.key.kind !== 'gost2012-256')
    throw new Error('the system certificate does not hold a GOST R 34.10-2012 (256) key');
  const publicKey = certificate.key.publicKey;
  const key = parseGostPrivateKey(await readFile(file), publicKey.parameterSet, file);
  // A key of another certificate would sign every request into ESIA-007053: refuse it here.
  const probe = Buffer.from(`key check ${file}`);
  if (!gostVerify(publicKey, probe, gostSign(key, probe)))
    throw new Error(`${file} is not the private key of the system certificate`);
  return key;
}

class LocalSigner implements ClientSecretSigner {
  constructor(private readonly key: GostPrivateKey) {}
  sign(text: string): Promise<Buffer> {
    return Promise.resolve(gostSign(this.key, Buffer.from(text, 'utf8')));
  }
}

/** An external program (OpenSSL with gost-engine, CryptoPro) reads the text on stdin and prints the signature. */
class CommandSigner implements ClientSecretSigner {
  constructor(private readonly command: string) {}
  sign(text: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', this.command], {
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: TIMEOUT_MS,
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0)
          return reject(
            new Error(`signing command exited with ${code}: ${err.trim().slice(0, 200)}`),
          );
        try {
          resolve(decodeSignature(Buffer.concat(out)));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      child.stdin.end(text, 'utf8');
    });
  }
}

/** A signing service: the text is POSTed as text/plain, the signature comes back in the body. */
class HttpSigner implements ClientSecretSigner {
  constructor(private readonly url: string) {}
  async sign(text: string): Promise<Buffer> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: text,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`signing service answered ${response.status}`);
    return decodeSignature(Buffer.from(await response.arrayBuffer()));
  }
}

/**
 * The configured signer, with the byte order normalised to ЕСИА's (OpenSSL's). The local signer's
 * key is read and checked against the system certificate here, so a wrong key stops the start.
 */
export async function createSigner(
  config: EsiaConfig,
  certificate: LoadedCertificate,
): Promise<ClientSecretSigner> {
  const signer: ClientSecretSigner =
    config.signer.kind === 'local'
      ? new LocalSigner(await readGostKeyFile(config.signer.keyFile, certificate))
      : config.signer.kind === 'command'
        ? new CommandSigner(config.signer.command)
        : new HttpSigner(config.signer.url);
  if (config.signatureByteOrder === 'as-is') return signer;
  return { sign: async (text) => reverseBytes(await signer.sign(text)) };
}
