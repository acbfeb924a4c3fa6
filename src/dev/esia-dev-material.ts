import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESIA_DEV_MATERIAL } from '../config/app-config.js';
import {
  loadCertificate,
  selfSignedCertificate,
  type LoadedCertificate,
} from '../gosuslugi/esia/certificates.js';
import { generateGostKeyPair, reverseBytes } from '../gosuslugi/esia/gost.js';
import { readGostKeyFile } from '../gosuslugi/esia/signer.js';

export interface EsiaDevMaterial {
  /** The development system's certificate, «registered» at the stand-in. */
  systemCertificate: LoadedCertificate;
  /** The stand-in's token keys and their certificates. */
  rsaKey: KeyObject;
  gostKey: Buffer;
  tokenCertificates: LoadedCertificate[];
}

const FILES = {
  systemKey: ESIA_DEV_MATERIAL.systemKey,
  systemCertificate: ESIA_DEV_MATERIAL.systemCertificate,
  rsaKey: 'stand-in-rsa.key',
  rsaCertificate: ESIA_DEV_MATERIAL.standInRsaCertificate,
  gostKey: 'stand-in-gost-key.hex',
  gostCertificate: ESIA_DEV_MATERIAL.standInGostCertificate,
};

/** GOST private keys are written big-endian in hex, as `openssl pkey -text` shows them. */
const hex = (key: Buffer) => reverseBytes(key).toString('hex') + '\n';

/**
 * Keys and self-signed certificates for the development ЕСИА: the system's GOST key and
 * certificate (what a real system gets from an accredited CA and registers in ЕСИА) and the
 * stand-in's RSA and GOST token keys. Made together, once, under DATA_DIR/esia-dev, where the
 * dev preset of the `esia` profile reads them.
 */
export async function ensureEsiaDevMaterial(dataDir: string): Promise<EsiaDevMaterial> {
  const dir = join(dataDir, ESIA_DEV_MATERIAL.dir);
  const file = (name: string) => join(dir, name);
  if (!Object.values(FILES).every((name) => existsSync(file(name)))) {
    await mkdir(dir, { recursive: true });
    const system = generateGostKeyPair();
    const gost = generateGostKeyPair();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const write = (name: string, content: string | Buffer) =>
      writeFile(file(name), content, { mode: 0o600 });
    await write(FILES.systemKey, hex(system.privateKey));
    await write(
      FILES.systemCertificate,
      selfSignedCertificate('Identity Link — система (разработка)', {
        kind: 'gost2012-256',
        ...system,
      }),
    );
    await write(FILES.rsaKey, rsa.export({ format: 'pem', type: 'pkcs8' }));
    await write(
      FILES.rsaCertificate,
      selfSignedCertificate('ЕСИА (тестовый стенд), RSA', { kind: 'rsa', privateKey: rsa }),
    );
    await write(FILES.gostKey, hex(gost.privateKey));
    await write(
      FILES.gostCertificate,
      selfSignedCertificate('ЕСИА (тестовый стенд), ГОСТ', { kind: 'gost2012-256', ...gost }),
    );
  }
  const load = async (name: string) => loadCertificate(await readFile(file(name)));
  return {
    systemCertificate: await load(FILES.systemCertificate),
    rsaKey: createPrivateKey(await readFile(file(FILES.rsaKey))),
    gostKey: await readGostKeyFile(file(FILES.gostKey)),
    tokenCertificates: [await load(FILES.rsaCertificate), await load(FILES.gostCertificate)],
  };
}
