import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser } from '../support/browser.js';
import { registerWithMail, type RunningService, startService } from '../support/service.js';
import { TestSmtp } from '../support/smtp.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';
import { waitUntil } from '../support/wait.js';

/**
 * What the built service loads at start (issue 20: resident memory after start under 150 MiB).
 * Packages only some requests need are loaded by the first of them, so an instance that never
 * sends mail or takes an import does not hold them; Fastify's schema compilers are never loaded,
 * as no route has a schema. Read from the process itself: a `--import` hook lists every package
 * it loads (test/support/loaded-packages.mjs).
 */
const smtp = new TestSmtp();
let dir: string;
let service: RunningService;
const file = () => join(dir, 'packages.txt');

async function loaded(): Promise<string[]> {
  // Not written yet: nothing seen so far.
  const text = await readFile(file(), 'utf8').catch(() => '');
  return text.split('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'identity-link-modules-'));
  await smtp.start();
  service = await startService({
    env: {
      NODE_OPTIONS: `--import=${resolve('test/support/loaded-packages.mjs')}`,
      LOADED_PACKAGES_FILE: file(),
      SMTP_URL: smtp.url,
    },
  });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await service?.stop();
  await smtp.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the packages the service loads', () => {
  it('starts and answers pages and the API without the mail, upload and schema packages', async () => {
    const browser = new Browser(service.url);
    expect((await browser.get('/login')).status).toBe(200);
    expect((await browser.get('/health/live')).status).toBe(200);
    // The hook writes its list every 100 ms: wait until it has seen what the answers loaded.
    await waitUntil(async () => (await loaded()).includes('@fastify/static'), 5000);
    const packages = await loaded();
    // The list is real: the frameworks the service runs on are in it.
    expect(packages).toEqual(expect.arrayContaining(['fastify', '@nestjs/core', 'pg']));
    for (const unused of ['nodemailer', 'multer', 'busboy', 'ajv', '@fastify/ajv-compiler'])
      expect(packages).not.toContain(unused);
  });

  it('loads nodemailer with the first message to send, and sends it', async () => {
    const [email] = await registerWithMail(service, 1, 'modules');
    await waitUntil(() => smtp.received.some((mail) => mail.to.includes(email)), 30_000);
    await waitUntil(async () => (await loaded()).includes('nodemailer'), 5000);
  });
});
