import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EnvSchema } from './env.schema.js';

export type GosuslugiProfile = 'dev' | 'oidc' | 'esia';

export interface GosuslugiConfig {
  profile: GosuslugiProfile;
  /** Exact issuer; for `oidc` and `dev` also the discovery base. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  /** Always `${PUBLIC_URL}/auth/gosuslugi/callback`: one registered redirect URI for every purpose. */
  redirectUri: string;
  /** Whether the development stand-in is mounted (dev profile, or esia with GOSUSLUGI_ESIA_ENV=dev). */
  standIn: boolean;
  esia?: EsiaConfig;
}

export interface EsiaPreset {
  issuer: string;
  baseUrl: string;
  authorizationPath: string;
  tokenPath: string;
  personPath: string;
  logoutPath: string;
  scopes: string;
}

export interface EsiaConfig {
  env: 'test' | 'prod' | 'dev';
  preset: EsiaPreset;
  signer:
    | { kind: 'local'; keyFile: string }
    | { kind: 'command'; command: string }
    | { kind: 'http'; url: string };
  signatureByteOrder: 'as-is' | 'reversed';
  certificateFile: string;
  tokenCertificateFiles: string[];
  nonce: 'optional' | 'required';
  /** `offline` asks ЕСИА for a refresh token and keeps it sealed on the identity. */
  accessType: 'online' | 'offline';
}

/** Files the development ЕСИА stand-in writes under DATA_DIR and the dev preset reads. */
export const ESIA_DEV_MATERIAL = {
  dir: 'esia-dev',
  systemKey: 'system-key.pem',
  systemCertificate: 'system.crt',
  standInRsaCertificate: 'stand-in-rsa.crt',
  standInGostCertificate: 'stand-in-gost.crt',
};

/** The development stand-in's client: its secret is public knowledge, which is why production refuses the dev profile. */
export const DEV_STAND_IN = {
  path: '/dev/gosuslugi',
  esiaPath: '/dev/esia',
  clientId: 'identity-link-dev',
  clientSecret: 'dev-stand-in-secret-not-for-production',
};

/**
 * The Госуслуги part of the configuration: which profile, its issuer and client, and for `esia` the
 * signer, certificates and endpoints. Problems are appended to `problems`, like the rest of
 * {@link loadConfig}; `dataDir` is the resolved DATA_DIR, where the dev ЕСИА material lives.
 */
export function gosuslugiConfig(
  env: EnvSchema,
  publicUrl: string,
  problems: string[],
  dataDir: string,
): GosuslugiConfig {
  const production = env.NODE_ENV === 'production';
  const profile = env.GOSUSLUGI_PROFILE ?? (production ? undefined : 'dev');
  const redirectUri = `${publicUrl}/auth/gosuslugi/callback`;
  if (profile === undefined) {
    problems.push(
      'GOSUSLUGI_PROFILE is not set: choose oidc or esia (the dev stand-in is for development only)',
    );
    return {
      profile: 'oidc',
      issuer: '',
      clientId: '',
      clientSecret: '',
      scopes: 'openid',
      redirectUri,
      standIn: false,
    };
  }
  if (profile === 'dev') {
    if (production)
      problems.push('GOSUSLUGI_PROFILE=dev: the Госуслуги stand-in is for development only');
    return {
      profile,
      issuer: `${publicUrl}${DEV_STAND_IN.path}`,
      clientId: DEV_STAND_IN.clientId,
      clientSecret: DEV_STAND_IN.clientSecret,
      scopes: env.GOSUSLUGI_SCOPES ?? 'openid fullname snils',
      redirectUri,
      standIn: true,
    };
  }
  if (profile === 'esia') return esiaConfig(env, publicUrl, redirectUri, problems, dataDir);
  for (const name of [
    'GOSUSLUGI_ISSUER',
    'GOSUSLUGI_CLIENT_ID',
    'GOSUSLUGI_CLIENT_SECRET',
  ] as const) {
    if (!env[name]) problems.push(`${name} is required with GOSUSLUGI_PROFILE=${profile}`);
  }
  if (production && env.GOSUSLUGI_ISSUER?.startsWith('http://'))
    problems.push('GOSUSLUGI_ISSUER must use https in production');
  return {
    profile,
    issuer: env.GOSUSLUGI_ISSUER ?? '',
    clientId: env.GOSUSLUGI_CLIENT_ID ?? '',
    clientSecret: env.GOSUSLUGI_CLIENT_SECRET ?? '',
    scopes: env.GOSUSLUGI_SCOPES ?? 'openid profile',
    redirectUri,
    standIn: false,
  };
}

function readPreset(name: 'test' | 'prod'): EsiaPreset {
  return JSON.parse(
    readFileSync(new URL(`../../config/esia-${name}.json`, import.meta.url), 'utf8'),
  ) as EsiaPreset;
}

function esiaConfig(
  env: EnvSchema,
  publicUrl: string,
  redirectUri: string,
  problems: string[],
  dataDir: string,
): GosuslugiConfig {
  const production = env.NODE_ENV === 'production';
  const esiaEnv = env.GOSUSLUGI_ESIA_ENV ?? (production ? 'prod' : 'dev');
  const dev = esiaEnv === 'dev';
  if (dev && production)
    problems.push('GOSUSLUGI_ESIA_ENV=dev: the ЕСИА stand-in is for development only');
  const material = (file: string) => join(dataDir, ESIA_DEV_MATERIAL.dir, file);
  const shipped: EsiaPreset = dev
    ? {
        issuer: `${publicUrl}${DEV_STAND_IN.esiaPath}/`,
        baseUrl: `${publicUrl}${DEV_STAND_IN.esiaPath}`,
        authorizationPath: '/aas/oauth2/v2/ac',
        tokenPath: '/aas/oauth2/v3/te',
        personPath: '/rs/prns/{oid}',
        logoutPath: '/idp/ext/Logout',
        scopes: 'openid fullname',
      }
    : readPreset(esiaEnv);
  const preset = { ...shipped, baseUrl: env.GOSUSLUGI_ESIA_BASE_URL ?? shipped.baseUrl };
  if (production && preset.baseUrl.startsWith('http://'))
    problems.push('GOSUSLUGI_ESIA_BASE_URL must be https in production');
  const signerKind = env.GOSUSLUGI_SIGNER ?? (dev ? 'local' : undefined);
  let signer: EsiaConfig['signer'] = { kind: 'local', keyFile: '' };
  if (signerKind === 'local') {
    const keyFile =
      env.GOSUSLUGI_SIGNER_KEY_FILE ?? (dev ? material(ESIA_DEV_MATERIAL.systemKey) : undefined);
    if (!keyFile)
      problems.push('GOSUSLUGI_SIGNER_KEY_FILE is required with GOSUSLUGI_SIGNER=local');
    signer = { kind: 'local', keyFile: keyFile ?? '' };
  } else if (signerKind === 'command') {
    if (!env.GOSUSLUGI_SIGNER_COMMAND)
      problems.push('GOSUSLUGI_SIGNER_COMMAND is required with GOSUSLUGI_SIGNER=command');
    signer = { kind: 'command', command: env.GOSUSLUGI_SIGNER_COMMAND ?? '' };
  } else if (signerKind === 'http') {
    if (!env.GOSUSLUGI_SIGNER_URL)
      problems.push('GOSUSLUGI_SIGNER_URL is required with GOSUSLUGI_SIGNER=http');
    signer = { kind: 'http', url: env.GOSUSLUGI_SIGNER_URL ?? '' };
  } else {
    problems.push(
      'GOSUSLUGI_SIGNER is not set: local, command or http (how client_secret is signed)',
    );
  }
  const certificateFile =
    env.GOSUSLUGI_CERT_FILE ?? (dev ? material(ESIA_DEV_MATERIAL.systemCertificate) : undefined);
  if (!certificateFile)
    problems.push(
      'GOSUSLUGI_CERT_FILE is required with GOSUSLUGI_PROFILE=esia (the system certificate)',
    );
  const tokenCertificateFiles = env.GOSUSLUGI_TOKEN_CERTS
    ? env.GOSUSLUGI_TOKEN_CERTS.split(',')
        .map((file) => file.trim())
        .filter(Boolean)
    : dev
      ? [
          material(ESIA_DEV_MATERIAL.standInRsaCertificate),
          material(ESIA_DEV_MATERIAL.standInGostCertificate),
        ]
      : [];
  if (tokenCertificateFiles.length === 0) {
    problems.push(
      'GOSUSLUGI_TOKEN_CERTS is required with GOSUSLUGI_PROFILE=esia (ЕСИА certificates that sign tokens)',
    );
  }
  const clientId = env.GOSUSLUGI_CLIENT_ID ?? (dev ? DEV_STAND_IN.clientId : undefined);
  if (!clientId)
    problems.push(
      'GOSUSLUGI_CLIENT_ID is required with GOSUSLUGI_PROFILE=esia (the system mnemonic)',
    );
  return {
    profile: 'esia',
    issuer: env.GOSUSLUGI_ISSUER ?? preset.issuer,
    clientId: clientId ?? '',
    clientSecret: '',
    scopes: env.GOSUSLUGI_SCOPES ?? preset.scopes,
    redirectUri,
    standIn: dev,
    esia: {
      env: esiaEnv,
      preset,
      signer,
      signatureByteOrder: env.GOSUSLUGI_SIGNATURE_BYTE_ORDER,
      certificateFile: certificateFile ?? '',
      tokenCertificateFiles,
      nonce: env.GOSUSLUGI_ESIA_NONCE,
      accessType: env.GOSUSLUGI_ESIA_ACCESS_TYPE,
    },
  };
}
