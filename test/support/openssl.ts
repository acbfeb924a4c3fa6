import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * OpenSSL with Debian's GOST engine (`libengine-gost-openssl`): the independent implementation
 * the service's GOST signatures are checked against. The engine is loaded through an OPENSSL_CONF
 * of our own, so every `openssl` command line below (and the `command` signer) uses it.
 */
const dir = mkdtempSync(join(tmpdir(), 'identity-link-openssl-'));
export const OPENSSL_GOST_CONF = join(dir, 'openssl-gost.cnf');
writeFileSync(
  OPENSSL_GOST_CONF,
  [
    'openssl_conf = openssl_def',
    '[openssl_def]',
    'engines = engine_section',
    '[engine_section]',
    'gost = gost_section',
    '[gost_section]',
    'engine_id = gost',
    'default_algorithms = ALL',
    '',
  ].join('\n'),
);

/** Runs `openssl` with the GOST engine: its stdout, its stderr and whether it failed. */
function run(args: string[]): Promise<{ stdout: Buffer; stderr: string; failed: boolean }> {
  return new Promise((resolve) => {
    execFile(
      'openssl',
      args,
      {
        env: { ...process.env, OPENSSL_CONF: OPENSSL_GOST_CONF },
        encoding: 'buffer',
        timeout: 20_000,
      },
      (error, stdout, stderr) => resolve({ stdout, stderr: stderr.toString(), failed: !!error }),
    );
  });
}

/** Runs `openssl` with the GOST engine; rejects with its stderr. */
export async function openssl(args: string[]): Promise<Buffer> {
  const { stdout, stderr, failed } = await run(args);
  if (!failed) return stdout;
  const hint = /gost|unknown|algorithm/i.test(stderr)
    ? ' (is libengine-gost-openssl installed? apt-get install libengine-gost-openssl)'
    : '';
  throw new Error(`openssl ${args[0]}: ${stderr.trim()}${hint}`);
}

/** A key and self-signed certificate made by OpenSSL on a parameter set (A, B, C, XA, XB, TCA…). */
export async function opensslGostKey(
  paramset: string,
): Promise<{ keyFile: string; certificateFile: string; dir: string }> {
  const work = await mkdtemp(join(dir, `key-${paramset}-`));
  const keyFile = join(work, 'key.pem');
  const certificateFile = join(work, 'certificate.pem');
  await openssl([
    'genpkey',
    '-algorithm',
    'gost2012_256',
    '-pkeyopt',
    `paramset:${paramset}`,
    '-out',
    keyFile,
  ]);
  await openssl([
    'req',
    '-x509',
    '-key',
    keyFile,
    '-md_gost12_256',
    '-subj',
    `/CN=Identity Link interop ${paramset}`,
    '-days',
    '2',
    '-out',
    certificateFile,
  ]);
  return { keyFile, certificateFile, dir: work };
}

/** `openssl dgst -md_gost12_256 -verify` with the certificate's public key: true on «Verified OK». */
export async function opensslVerify(
  certificateFile: string,
  data: Buffer,
  signature: Buffer,
): Promise<boolean> {
  const work = await mkdtemp(join(dir, 'verify-'));
  const files = {
    publicKey: join(work, 'public.pem'),
    data: join(work, 'data'),
    signature: join(work, 'signature'),
  };
  await writeFile(
    files.publicKey,
    await openssl(['x509', '-in', certificateFile, '-pubkey', '-noout']),
  );
  await writeFile(files.data, data);
  await writeFile(files.signature, signature);
  const { stdout, stderr } = await run([
    'dgst',
    '-md_gost12_256',
    '-verify',
    files.publicKey,
    '-signature',
    files.signature,
    files.data,
  ]);
  // OpenSSL's verdict is on stdout; anything else (no engine, a bad key) is an error, not a «no».
  const verdict = stdout.toString().trim();
  if (verdict === 'Verified OK') return true;
  if (verdict === 'Verification failure') return false;
  throw new Error(`openssl dgst -verify said «${verdict}»: ${stderr.trim()}`);
}

/** `openssl dgst -md_gost12_256 -sign`: the raw 64-byte signature OpenSSL makes. */
export async function opensslSign(keyFile: string, data: Buffer): Promise<Buffer> {
  const work = await mkdtemp(join(dir, 'sign-'));
  const file = join(work, 'data');
  await writeFile(file, data);
  return openssl(['dgst', '-md_gost12_256', '-sign', keyFile, file]);
}
