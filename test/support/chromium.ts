/// <reference lib="dom" />
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from '@jest/globals';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core';
import { activeLogCapture, recordAnswer, recordOutgoingRequest } from './log-capture.js';
import { type RunningService, startService } from './service.js';
import { STARTUP_TIMEOUT_MS } from './timeouts.js';

/** Debian's Chromium (`apt-get install chromium`); .ci/run installs it when missing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots are test artefacts (not committed); UPDATE_DOCS_SCREENSHOTS=1 also refreshes docs/. */
const ARTIFACTS = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url));
const DOCS = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));

/**
 * Under a log check (test/support/log-check.ts), every context of this browser tells the check what
 * its pages send and receive: typed passwords in form posts, cookies, codes in redirects, link
 * tokens in the addresses it opens. The service it talks to is a process of its own, out of the
 * middleware's reach.
 */
function recordSecretsOfPages(browser: Browser): Browser {
  const capture = activeLogCapture();
  if (!capture) return browser;
  const track = (work: Promise<unknown>) => {
    const settled = work.catch(() => undefined);
    capture.recording.add(settled);
    void settled.finally(() => capture.recording.delete(settled));
  };
  const watched = new WeakSet<BrowserContext>();
  const watch = (context: BrowserContext) => {
    if (watched.has(context)) return context;
    watched.add(context);
    context.on('request', (request) => {
      // The address and body now; the Cookie header only comes with allHeaders().
      recordOutgoingRequest(request.url(), request.headers(), request.postData());
      track(request.allHeaders().then((headers) => recordOutgoingRequest(request.url(), headers)));
    });
    context.on('response', (response) =>
      track(
        Promise.all([response.headerValues('set-cookie'), response.headerValue('location')]).then(
          ([cookies, location]) => recordAnswer(cookies, location),
        ),
      ),
    );
    return context;
  };
  const newContext = browser.newContext.bind(browser);
  const newPage = browser.newPage.bind(browser);
  browser.newContext = async (options) => watch(await newContext(options));
  browser.newPage = async (options) => {
    const page = await newPage(options);
    watch(page.context());
    return page;
  };
  return browser;
}

export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return recordSecretsOfPages(browser);
}

/**
 * Script errors and CSP violations the page reports (a test expects none). The browser's own
 * note on a 4xx answer is left out: error pages answer with their status on purpose.
 */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    problems.push(text);
  });
  return problems;
}

export async function screenshot(page: Page, name: string, docs = false): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    await mkdir(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, `${name}.png`), fullPage: true });
  }
}

/** Reads until `ok` holds or the time is up, and returns the last reading. */
async function settle<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if ((value !== undefined && ok(value)) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const squash = (text: string | null | undefined) => (text ?? '').replace(/\s+/g, ' ').trim();

/**
 * Web-first assertions for playwright-core (the test runner's `expect` is Jest's): each waits for
 * the page to settle, then asserts with Jest so a failure shows what the page had.
 */
export const see = {
  async text(locator: Locator, expected: string): Promise<void> {
    const value = await settle(
      () => locator.textContent(),
      (v) => squash(v) === expected,
    );
    expect(squash(value)).toBe(expected);
  },
  async contains(locator: Locator, expected: string): Promise<void> {
    const value = await settle(
      () => locator.textContent(),
      (v) => squash(v).includes(expected),
    );
    expect(squash(value)).toContain(expected);
  },
  async value(locator: Locator, expected: string): Promise<void> {
    const value = await settle(
      () => locator.inputValue(),
      (v) => v === expected,
    );
    expect(value).toBe(expected);
  },
  async attribute(locator: Locator, name: string, expected: string): Promise<void> {
    const value = await settle(
      () => locator.getAttribute(name),
      (v) => v === expected,
    );
    expect(value).toBe(expected);
  },
  async count(locator: Locator, expected: number): Promise<void> {
    const value = await settle(
      () => locator.count(),
      (v) => v === expected,
    );
    expect(value).toBe(expected);
  },
  async visible(locator: Locator): Promise<void> {
    await locator.waitFor({ state: 'visible', timeout: 15_000 });
  },
  async focused(locator: Locator): Promise<void> {
    const value = await settle(
      () => locator.evaluate((element) => element === document.activeElement),
      (v) => v,
    );
    expect(value).toBe(true);
  },
};

/** The screens a journey is shot at: a desktop and a phone. */
export const JOURNEY_WIDTHS = [1280, 390] as const;

/** What a journey spec works with: pages of the running service in Chromium, and the first steps. */
export interface JourneyBrowser {
  /** The running service (its address, its command line, the demo operator it printed). */
  readonly service: RunningService;
  /**
   * A page of its own context at `width` (Russian locale, dialogs accepted), with the script
   * errors it reports; `prepare` runs on it first (e.g. a virtual authenticator).
   */
  page(
    width: number,
    prepare?: (context: BrowserContext, page: Page) => Promise<void>,
  ): Promise<{ page: Page; problems: string[] }>;
  /** «Регистрация» of `login` with `password`, into «Личный кабинет». */
  register(page: Page, login: string, password: string): Promise<void>;
  /** The login form with `login` and `password` (where it leads is the spec's to check). */
  logIn(page: Page, login: string, password: string): Promise<void>;
}

/**
 * The service as `npm start` runs it (the built dist/main.js) and Debian's Chromium, started
 * before the spec's tests and stopped after them: call at the top of a journey spec.
 */
export function journeyBrowser(): JourneyBrowser {
  let service: RunningService | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    service = await startService();
    browser = await launchChromium();
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });
  return {
    get service() {
      if (!service) throw new Error('journeyBrowser: the service is not running yet');
      return service;
    },
    async page(width, prepare) {
      if (!browser || !service) throw new Error('journeyBrowser: used outside a test');
      const context = await browser.newContext({
        baseURL: service.url,
        viewport: { width, height: 900 },
        locale: 'ru-RU',
      });
      const page = await context.newPage();
      page.on('dialog', (dialog) => void dialog.accept());
      await prepare?.(context, page);
      return { page, problems: watchConsole(page) };
    },
    async register(page, login, password) {
      await page.goto('/register');
      await page.getByLabel('Логин').fill(login);
      await page.getByLabel('Пароль', { exact: true }).fill(password);
      await page.getByLabel('Повторите пароль').fill(password);
      await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
      await page.waitForURL('**/account?notice=registered');
    },
    async logIn(page, login, password) {
      await page.goto('/login');
      await page.getByLabel('Логин').fill(login);
      await page.getByLabel('Пароль').fill(password);
      await page.getByRole('button', { name: 'Войти', exact: true }).click();
    },
  };
}
