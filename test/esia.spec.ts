import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESIA_DEV_MATERIAL } from '../src/config/app-config.js';
import { EsiaStandIn } from '../src/dev/esia-stand-in.js';
import { certificateHash, loadCertificate } from '../src/gosuslugi/esia/certificates.js';
import { clientSecretText, esiaTimestamp } from '../src/gosuslugi/esia/esia-format.js';
import { gostSign, streebog256, type GostPrivateKey } from '../src/gosuslugi/esia/gost.js';
import { readGostKeyFile } from '../src/gosuslugi/esia/signer.js';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { FederatedIdentity } from '../src/identity/federated-identity.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { linkThrough, loggedInBrowser, throughStandIn } from './support/gosuslugi.js';
import { OPENSSL_GOST_CONF, opensslGostKey, opensslVerify } from './support/openssl.js';

const ESIA = {
  GOSUSLUGI_PROFILE: 'esia',
  GOSUSLUGI_ESIA_ENV: 'dev',
  THROTTLE_AUTH_LIMIT: '100000',
  THROTTLE_LIMIT: '100000',
};
const OID = 1000000002;
let PEM_HASH = '';
const material = (t: TestApp, file: string) => join(t.config.dataDir, ESIA_DEV_MATERIAL.dir, file);

describe('esia profile against the ЕСИА-shaped stand-in (local GOST key)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(ESIA, { listen: true });
    // Material is made on start; the hash a careless client would send is that of the PEM text.
    PEM_HASH = streebog256(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    ).toString('hex');
  });
  afterAll(async () => {
    await t.close();
  });

  it('links and logs in through ЕСИА, with names and the trusted flag from /rs/prns', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const linked = await linkThrough(browser, OID);
    expect(linked.status).toBe(303);
    const identity = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(identity).toMatchObject({ issuer: `${t.url}/dev/esia/`, subject: String(OID) });
    expect(identity.claims).toEqual({
      lastName: 'Петров',
      firstName: 'Алексей',
      middleName: 'Игоревич',
      trusted: true,
    });

    await browser.postJson('/api/v1/auth/logout', {});
    const callback = await throughStandIn(browser, '/auth/gosuslugi/login', OID);
    expect((await browser.get(callback)).status).toBe(303);
    expect(((await (await browser.get('/api/v1/me')).json()) as { id: string }).id).toBe(id);
    await t.em().nativeDelete(FederatedIdentity, {});
  });

  it('sends a signed authorization request: Moscow timestamp, UUID state, DER certificate hash, GOST client_secret', async () => {
    const { browser } = await loggedInBrowser(t);
    const start = await browser.get('/auth/gosuslugi/link');
    const url = new URL(Browser.location(start));
    const q = Object.fromEntries(url.searchParams);
    expect(url.pathname).toBe('/dev/esia/aas/oauth2/v2/ac');
    expect(q.timestamp).toMatch(/^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2} \+0300$/);
    expect(q.state).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(q).toMatchObject({
      response_type: 'code',
      access_type: 'online',
      scope: 'openid fullname',
      redirect_uri: `${t.url}/auth/gosuslugi/callback`,
    });
    const certificate = loadCertificate(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    );
    expect(q.client_certificate_hash).toBe(certificateHash(certificate));
    const text = clientSecretText({
      clientId: q.client_id,
      scope: q.scope,
      timestamp: q.timestamp,
      state: q.state,
      redirectUri: q.redirect_uri,
    });
    // Checked by OpenSSL's gost engine, not by the service's own code.
    expect(
      await opensslVerify(
        material(t, ESIA_DEV_MATERIAL.systemCertificate),
        Buffer.from(text),
        Buffer.from(q.client_secret, 'base64url'),
      ),
    ).toBe(true);
  });

  it.each([
    [
      'a changed timestamp format',
      'timestamp',
      (v: string) => v.replace(' +0300', ''),
      'ESIA-007015',
    ],
    [
      'a wrong signature',
      'client_secret',
      (v: string) => Buffer.from(v, 'base64url').reverse().toString('base64url'),
      'ESIA-007053',
    ],
    ['no certificate hash', 'client_certificate_hash', () => '', 'ESIA-007014'],
    [
      'the hash of the PEM text instead of the DER bytes',
      'client_certificate_hash',
      () => PEM_HASH,
      'ESIA-007053',
    ],
  ])(
    'is refused by the stand-in for %s, and the page says so in Russian',
    async (_, param, change, code) => {
      const { browser, id } = await loggedInBrowser(t);
      const url = new URL(Browser.location(await browser.get('/auth/gosuslugi/link')));
      url.searchParams.set(param, change(url.searchParams.get(param) ?? ''));
      const back = await browser.get(url.pathname + url.search);
      const callback = new URL(Browser.location(back));
      const page = await browser.get(callback.pathname + callback.search);
      expect(page.status).toBe(400);
      const html = await page.text();
      expect(html).toContain(code);
      expect(html).toMatch(/ЕСИА/);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    },
  );

  it('stand-in refuses a token request that reuses the authorization state (a fresh UUID is required)', async () => {
    const { browser } = await loggedInBrowser(t);
    const start = new URL(Browser.location(await browser.get('/auth/gosuslugi/link')));
    const callback = new URL(
      await throughStandIn(browser, start.pathname + start.search, OID),
      t.url,
    );
    const code = callback.searchParams.get('code')!;
    const certificate = loadCertificate(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    );
    const key = await readGostKeyFile(material(t, ESIA_DEV_MATERIAL.systemKey), certificate);
    const request = (state: string) => {
      const timestamp = esiaTimestamp();
      const base = {
        clientId: 'identity-link-dev',
        scope: 'openid fullname',
        timestamp,
        state,
        redirectUri: `${t.url}/auth/gosuslugi/callback`,
      };
      return fetch(`${t.url}/dev/esia/aas/oauth2/v3/te`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: base.clientId,
          code,
          grant_type: 'authorization_code',
          client_secret: gostSign(key, Buffer.from(clientSecretText({ ...base, code }))).toString(
            'base64url',
          ),
          client_certificate_hash: certificateHash(certificate),
          state,
          redirect_uri: base.redirectUri,
          scope: base.scope,
          timestamp,
          token_type: 'Bearer',
        }),
      });
    };
    const reused = await request(start.searchParams.get('state')!);
    expect(reused.status).toBe(400);
    expect(((await reused.json()) as { error_description: string }).error_description).toContain(
      'ESIA-007002',
    );
  });

  it('accepts GOST3410_2012_256-signed tokens from a configured certificate', async () => {
    t.app.get(EsiaStandIn).tokenSigning = 'GOST3410_2012_256';
    try {
      const { browser, id } = await loggedInBrowser(t);
      expect((await linkThrough(browser, OID)).status).toBe(303);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
    } finally {
      t.app.get(EsiaStandIn).tokenSigning = 'RS256';
      await t.em().nativeDelete(FederatedIdentity, {});
    }
  });

  it.each([
    ['wrong_issuer', 'id_token_issuer'],
    ['wrong_audience', 'id_token_audience'],
    ['expired', 'id_token_expired'],
    ['oid_mismatch', 'id_token_subject'],
    ['wrong_nonce', 'id_token_nonce'],
    ['access_token_other_subject', 'access_token_subject'],
    ['access_token_wrong_issuer', 'access_token_issuer'],
    ['state_mismatch', 'token_state_mismatch'],
  ] as const)(
    'refuses a token response with %s (reason %s): 400, nothing linked',
    async (fault, reason) => {
      const { browser, id } = await loggedInBrowser(t);
      t.app.get(EsiaStandIn).injectFault(fault);
      const response = await linkThrough(browser, OID);
      expect(response.status).toBe(400);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
      const [event] = await t
        .em()
        .find(
          AuditEvent,
          { type: 'gosuslugi.callback_rejected' },
          { orderBy: { createdAt: 'desc' }, limit: 1 },
        );
      expect(event.details.reason).toBe(reason);
    },
  );

  it('refuses tokens signed with a certificate that is not configured: 400, nothing linked', async () => {
    t.app.get(EsiaStandIn).tokenSigning = 'unregistered';
    try {
      const { browser, id } = await loggedInBrowser(t);
      const response = await linkThrough(browser, OID);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('не прошёл проверку');
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    } finally {
      t.app.get(EsiaStandIn).tokenSigning = 'RS256';
    }
  });
});

describe('pluggable client_secret signers', () => {
  let keyDir: string;
  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'identity-link-signer-'));
  });
  afterAll(async () => {
    await rm(keyDir, { recursive: true, force: true });
  });

  /** A dev app whose material exists, so an external signer can use the same system key. */
  async function withSigner(env: Record<string, string>, run: (t: TestApp) => Promise<void>) {
    const t = await startTestApp({ ...ESIA, ...env }, { listen: true });
    try {
      await run(t);
    } finally {
      await t.close();
    }
  }

  it('maps a wrong signature from a command signer to the ESIA-007053 message', async () => {
    await withSigner(
      {
        GOSUSLUGI_SIGNER: 'command',
        GOSUSLUGI_SIGNER_COMMAND: 'cat > /dev/null; head -c 64 /dev/urandom | base64 -w0',
      },
      async (t) => {
        const { browser } = await loggedInBrowser(t);
        const start = await browser.get('/auth/gosuslugi/link');
        const back = await browser.get(
          new URL(Browser.location(start)).pathname + new URL(Browser.location(start)).search,
        );
        const page = await browser.get(
          new URL(Browser.location(back)).pathname + new URL(Browser.location(back)).search,
        );
        expect(page.status).toBe(400);
        expect(await page.text()).toContain(
          'ЕСИА не приняла подпись запроса: проверьте ключ и сертификат системы (ESIA-007053).',
        );
      },
    );
  });

  it('links with `openssl dgst -sign` as the command signer (the gost engine, not our code)', async () => {
    // The development key is made in the app's DATA_DIR at start, as PKCS#8 that OpenSSL reads.
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-esia-'));
    const key = join(dataDir, ESIA_DEV_MATERIAL.dir, ESIA_DEV_MATERIAL.systemKey);
    try {
      await withSigner(
        {
          DATA_DIR: dataDir,
          GOSUSLUGI_SIGNER: 'command',
          GOSUSLUGI_SIGNER_COMMAND: `OPENSSL_CONF=${OPENSSL_GOST_CONF} openssl dgst -md_gost12_256 -sign ${key}`,
        },
        async (t) => {
          const { browser, id } = await loggedInBrowser(t);
          expect((await linkThrough(browser, OID)).status).toBe(303);
          expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
        },
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a certificate on an unsupported GOST parameter set, naming it', async () => {
    const { certificateFile } = await opensslGostKey('0');
    await expect(
      startTestApp({
        ...ESIA,
        GOSUSLUGI_SIGNER: 'http',
        GOSUSLUGI_SIGNER_URL: 'http://127.0.0.1:9/',
        GOSUSLUGI_CERT_FILE: certificateFile,
      }),
    ).rejects.toThrow(/id-GostR3410-2001-TestParamSet/);
  });

  it('links with an HTTP signing service', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-esia-'));
    let server: Server | undefined;
    try {
      let key: GostPrivateKey | undefined;
      server = createServer((req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        req.on('end', () => {
          void (async () => {
            const file = (name: string) => join(dataDir, ESIA_DEV_MATERIAL.dir, name);
            key ??= await readGostKeyFile(
              file(ESIA_DEV_MATERIAL.systemKey),
              loadCertificate(await readFile(file(ESIA_DEV_MATERIAL.systemCertificate))),
            );
            res.end(gostSign(key, Buffer.from(text)).toString('hex'));
          })();
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sign`;
      await withSigner(
        { DATA_DIR: dataDir, GOSUSLUGI_SIGNER: 'http', GOSUSLUGI_SIGNER_URL: url },
        async (t) => {
          const { browser, id } = await loggedInBrowser(t);
          expect((await linkThrough(browser, OID)).status).toBe(303);
          expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
        },
      );
    } finally {
      server?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('esia profile with GOSUSLUGI_ESIA_NONCE=required', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...ESIA, GOSUSLUGI_ESIA_NONCE: 'required' }, { listen: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses an ID token without the nonce and accepts one that carries it', async () => {
    const first = await loggedInBrowser(t);
    expect((await linkThrough(first.browser, OID)).status).toBe(400);
    expect(await t.em().count(FederatedIdentity, { user: first.id })).toBe(0);

    t.app.get(EsiaStandIn).echoNonce = true;
    const second = await loggedInBrowser(t);
    expect((await linkThrough(second.browser, OID)).status).toBe(303);
    expect(await t.em().count(FederatedIdentity, { user: second.id })).toBe(1);
  });
});
