import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESIA_DEV_MATERIAL } from '../config/gosuslugi.config.js';
import {
  gostPrivateKeyPem,
  loadCertificate,
  selfSignedCertificate,
  type LoadedCertificate,
} from '../gosuslugi/esia/certificates.js';
import { generateGostKeyPair, type GostPrivateKey } from '../gosuslugi/esia/gost.js';
import { readGostKeyFile } from '../gosuslugi/esia/signer.js';

export interface EsiaDevMaterial {
  /** The development system's certificate, «registered» at the stand-in. */
  systemCertificate: LoadedCertificate;
  /** The stand-in's token keys and their certificates. */
  rsaKey: KeyObject;
  gostKey: GostPrivateKey;
  tokenCertificates: LoadedCertificate[];
}

const FILES = {
  systemKey: ESIA_DEV_MATERIAL.systemKey,
  systemCertificate: ESIA_DEV_MATERIAL.systemCertificate,
  rsaKey: 'stand-in-rsa.key',
  rsaCertificate: ESIA_DEV_MATERIAL.standInRsaCertificate,
  gostKey: 'stand-in-gost-key.pem',
  gostCertificate: ESIA_DEV_MATERIAL.standInGostCertificate,
};

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
    // PKCS#8 PEM, so that `openssl dgst -engine gost -sign` takes the keys as they are.
    await write(FILES.systemKey, gostPrivateKeyPem(system.privateKey));
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
    await write(FILES.gostKey, gostPrivateKeyPem(gost.privateKey));
    await write(
      FILES.gostCertificate,
      selfSignedCertificate('ЕСИА (тестовый стенд), ГОСТ', { kind: 'gost2012-256', ...gost }),
    );
  }
  const load = async (name: string) => loadCertificate(await readFile(file(name)));
  const gostCertificate = await load(FILES.gostCertificate);
  return {
    systemCertificate: await load(FILES.systemCertificate),
    rsaKey: createPrivateKey(await readFile(file(FILES.rsaKey))),
    gostKey: await readGostKeyFile(file(FILES.gostKey), gostCertificate),
    tokenCertificates: [await load(FILES.rsaCertificate), gostCertificate],
  };
}
