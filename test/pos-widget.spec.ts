import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Organization } from '../src/pos/organization.entity.js';
import { UNAVAILABLE_REASON_TEXTS } from '../src/pos/widget-placement/placement-texts.js';
import { fetchSite, SITE_FETCH_LIMITS } from '../src/pos/widget-placement/site-fetch.js';
import { WidgetPlacementService } from '../src/pos/widget-placement/widget-placement.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { json, memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';
import { startWidgetSite, type WidgetSite } from './support/widget-site.js';

/**
 * Issue 18, «Must show» 4: the widget code in ПОС's format, and «Виджет размещён» meaning found on
 * the official site.
 *
 * What runs for real: the service (with its pg-boss worker) and a local https site on 127.0.0.1
 * with a self-signed certificate (test/support/widget-site.ts). That address is loopback, which the
 * check refuses in production, so this app runs with the test-only WIDGET_CHECK_ALLOW_PRIVATE=true
 * and WIDGET_CHECK_CA_FILE (production refuses both: src/config/app-config.spec.ts). The refusal
 * of private addresses is tested on the same fetcher with the production rule (isPublicAddress,
 * whose ranges src/pos/widget-placement/address-policy.spec.ts covers), and the re-check after a
 * redirect with a rule that allows 127.0.0.1 only. The API takes only https addresses with a
 * domain name, so the local site's address is written to the organisation directly.
 */

/** A ПОС stand's origin: the code follows POS_WIDGET_BASE_URL (the real ПОС by default). */
const POS = 'https://pos-stand.example.ru';

let t: TestApp;
let site: WidgetSite;
let siteUrl: string;
let ca: string;
let school: Organization;
let other: Organization;
/** The page the local site serves at /with-widget: set once the code is generated. */
let widgetPage = '';

beforeAll(async () => {
  site = await startWidgetSite(() => widgetPage);
  siteUrl = site.url;
  ca = site.ca;
  t = await startTestApp(
    {
      POS_WIDGET_BASE_URL: POS,
      WIDGET_CHECK_ALLOW_PRIVATE: 'true',
      WIDGET_CHECK_CA_FILE: site.caFile,
      THROTTLE_LIMIT: '100000',
    },
    { listen: true },
  );
  const em = t.em();
  const region = await organization(em, 'Управление образования (виджет)', null);
  school = await organization(em, 'Школа № 5 (виджет)', region);
  other = await organization(em, 'Школа № 7 (виджет)', region);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await t?.close();
  await site?.close();
});

interface Placement {
  state: string;
  checkedAt: string | null;
  reason: string | null;
  text: string;
}

async function setSite(org: Organization, url: string): Promise<void> {
  await t.em().nativeUpdate(Organization, { id: org.id }, { officialSiteUrl: url });
}

const moscowDate = (iso: string) =>
  new Intl.DateTimeFormat('ru-RU', {
    timeZone: 'Europe/Moscow',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(new Date(iso));

describe('the widget code', () => {
  it('is ПОС’s format: its script, the banner with the chosen design and text, and Widget(form, ЛКО)', async () => {
    const { browser } = await memberBrowser(t, school, ['admin']);
    const response = await browser.postJson(`/api/v1/pos/organizations/${school.id}/widget`, {
      variant: 'standard',
      bannerText: 'Есть предложения, как сделать школу лучше?',
      siteUrl: 'https://school5.example.ru',
    });
    expect(response.status).toBe(200);
    const widget = await json<{ code: string; lkoNumber: string; placement: Placement }>(response);
    expect(widget.lkoNumber).toBe(String(school.lkoNumber));
    const lines = widget.code.split('\n');
    // The design's style (line 2) is the chosen design's own; everything else is ПОС's structure.
    expect(lines[1]).toMatch(/^<style>#js-show-iframe-wrapper\{.*\}<\/style>$/);
    expect([lines[0], ...lines.slice(2)]).toEqual([
      `<script src='${POS}/bin/script.min.js'></script>`,
      `<div id='js-show-iframe-wrapper'>`,
      `  <div class='pos-banner-fluid bf-1'>`,
      `    <div class='bf-1__content'>`,
      `      <div class='bf-1__description'>`,
      `        <span class='bf-1__text'>Есть предложения, как сделать школу лучше?</span>`,
      `      </div>`,
      `      <div class='bf-1__btn-wrap'>`,
      `        <!-- pos-banner-btn_2 не удалять; другие классы не добавлять -->`,
      `        <button class='pos-banner-btn_2' type='button'>Написать о проблеме</button>`,
      `      </div>`,
      `    </div>`,
      `  </div>`,
      `</div>`,
      `<script>Widget("${POS}/form", ${school.lkoNumber})</script>`,
    ]);
    // Nothing of the old, broken code that loaded /pos/widget.js from this service.
    expect(widget.code).not.toMatch(/PosWidget|\/pos\/widget\.js/);
    expect((await browser.get('/pos/widget.js')).status).toBe(404);
    // Generated is not placed.
    expect(widget.placement).toEqual({
      state: 'not_checked',
      checkedAt: null,
      reason: null,
      text: 'не проверен',
    });
    widgetPage = widget.code;
  });
});

describe('«Виджет размещён»: the placement check', () => {
  it('finds the code with this ЛКО number on the site, through the background job; the report and CSV say so', async () => {
    expect(widgetPage).not.toBe('');
    const { browser } = await memberBrowser(t, school, ['admin']);
    await setSite(school, `${siteUrl}/redirect`);
    const queued = await browser.postJson(
      `/api/v1/pos/organizations/${school.id}/widget/check`,
      {},
    );
    expect(queued.status).toBe(202);
    let row: { id: string; widgetPlacement: Placement } | undefined;
    const deadline = Date.now() + 20_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const rows = await json<{ id: string; widgetPlacement: Placement }[]>(
        await browser.get(`/api/v1/pos/organizations/${school.id}/connection-status`),
      );
      row = rows.find((r) => r.id === school.id);
    } while (row?.widgetPlacement.state === 'not_checked' && Date.now() < deadline);
    expect(row!.widgetPlacement.state).toBe('found');
    const checkedAt = row!.widgetPlacement.checkedAt!;
    expect(Date.now() - new Date(checkedAt).getTime()).toBeLessThan(60_000);
    expect(row!.widgetPlacement.text).toBe(`найден на сайте · ${moscowDate(checkedAt)}`);
    const csv = await (
      await browser.get(`/api/v1/pos/organizations/${school.id}/connection-status?format=csv`)
    ).text();
    expect(csv.split('\r\n')[0].split(';')[10]).toBe('Виджет размещён');
    const line = csv.split('\r\n').find((l) => l.startsWith(`${school.lkoNumber};`))!;
    expect(line.split(';')[10]).toBe(`найден на сайте · ${moscowDate(checkedAt)}`);

    // «Проверить сейчас» once a minute per organisation.
    const again = await browser.postJson(`/api/v1/pos/organizations/${school.id}/widget/check`, {});
    expect(again.status).toBe(429);
    expect((await json<{ code: string }>(again)).code).toBe('widget_check_limit');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    // The page: the tab shows the state; its button is refused the same way, in Russian.
    const page = await (await browser.get(`/pos/admin?org=${school.id}&tab=widget`)).text();
    expect(page).toContain('найден на сайте ·');
    expect(page).toContain('id="widget-preview-banner"');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const button = await browser.postForm('/pos/admin/widget/check', {
      csrf,
      organizationId: school.id,
    });
    expect(button.status).toBe(429);
    expect(await button.text()).toContain('Следующую проверку можно запросить через');
  });

  it('reports a page without the code, or with another ЛКО number, as «не найден»', async () => {
    const placements = t.app.get(WidgetPlacementService);
    await setSite(other, `${siteUrl}/without`);
    expect(await placements.check(other.id)).toMatchObject({
      state: 'not_found',
      text: 'не найден',
    });
    // The school's code (another ЛКО number) on the other school's site is not its widget.
    await setSite(other, `${siteUrl}/with-widget`);
    expect(await placements.check(other.id)).toMatchObject({ state: 'not_found' });
    // Through the page: «Проверить сейчас» queues the check and comes back to the tab.
    const { browser } = await memberBrowser(t, other, ['admin']);
    const page = await (await browser.get(`/pos/admin?org=${other.id}&tab=widget`)).text();
    expect(page).toContain('не найден');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const button = await browser.postForm('/pos/admin/widget/check', {
      csrf,
      organizationId: other.id,
    });
    expect(button.status).toBe(303);
    expect(button.headers.get('location')).toContain('notice=check_queued');
  });

  it('refuses an http address: «сайт недоступен» with its reason', async () => {
    const placements = t.app.get(WidgetPlacementService);
    await setSite(other, `${siteUrl.replace('https:', 'http:')}/with-widget`);
    expect(await placements.check(other.id)).toMatchObject({
      state: 'site_unavailable',
      reason: 'not_https',
      text: 'сайт недоступен',
    });
    // An https site that redirects to http is refused too.
    await setSite(other, `${siteUrl}/redirect-http`);
    expect(await placements.check(other.id)).toMatchObject({ reason: 'not_https' });
  });
});

describe('the site fetcher’s rules (the production address policy unless stated)', () => {
  // The local site listens on a port of its own: these rules are tested with any port allowed.
  const policy = {
    ...SITE_FETCH_LIMITS,
    extraCa: undefined as string | undefined,
    allowPort: (() => true) as ((port: string) => boolean) | undefined,
  };
  const trusted = () => ({ ...policy, extraCa: ca });
  const only127001 = () => ({ ...trusted(), allowAddress: (ip: string) => ip === '127.0.0.1' });

  it('refuses a private address, by IP and by a name that resolves to one', async () => {
    expect(await fetchSite(`${siteUrl}/with-widget`, trusted())).toMatchObject({
      ok: false,
      reason: 'private_address',
    });
    const port = new URL(siteUrl).port;
    expect(await fetchSite(`https://localhost:${port}/with-widget`, trusted())).toMatchObject({
      ok: false,
      reason: 'private_address',
    });
    expect(await fetchSite(`https://[::1]:${port}/`, trusted())).toMatchObject({
      reason: 'private_address',
    });
  });

  it('refuses any port but https’s own (443), before connecting, with its reason in Russian', async () => {
    const port = new URL(siteUrl).port;
    // The production port rule, every address allowed: only the port stands in the way.
    const productionPorts = { ...trusted(), allowPort: undefined, allowAddress: () => true };
    expect(await fetchSite(`${siteUrl}/with-widget`, productionPorts)).toEqual({
      ok: false,
      reason: 'port_not_allowed',
      detail: port,
    });
    expect(await fetchSite(`${siteUrl}/redirect`, productionPorts)).toMatchObject({
      reason: 'port_not_allowed',
    });
    expect(UNAVAILABLE_REASON_TEXTS.port_not_allowed).toBe(
      'в адресе сайта указан порт: проверяется только https:// без порта (443)',
    );
  });

  it('checks every redirect again: a redirect to a refused address is refused', async () => {
    expect(await fetchSite(`${siteUrl}/redirect`, only127001())).toMatchObject({ ok: true });
    expect(await fetchSite(`${siteUrl}/redirect-private`, only127001())).toMatchObject({
      ok: false,
      reason: 'private_address',
      detail: '127.0.0.2',
    });
  });

  it('follows at most 3 redirects, reads at most 1 MiB of text/html, trusts only real certificates', async () => {
    expect(await fetchSite(`${siteUrl}/loop`, only127001())).toMatchObject({
      reason: 'too_many_redirects',
    });
    expect(await fetchSite(`${siteUrl}/big`, only127001())).toMatchObject({ reason: 'too_large' });
    expect(await fetchSite(`${siteUrl}/json`, only127001())).toMatchObject({ reason: 'not_html' });
    expect(await fetchSite(`${siteUrl}/missing`, only127001())).toMatchObject({
      reason: 'http_status',
      detail: '404',
    });
    // Without the test CA the self-signed certificate is refused.
    expect(
      await fetchSite(`${siteUrl}/with-widget`, { ...policy, allowAddress: () => true }),
    ).toMatchObject({ reason: 'tls_failed' });
  });

  it('gives up when the site does not answer in time', async () => {
    const started = Date.now();
    expect(await fetchSite(`${siteUrl}/slow`, { ...only127001(), timeoutMs: 300 })).toMatchObject({
      reason: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(SITE_FETCH_LIMITS).toEqual({ timeoutMs: 5000, maxBytes: 1024 * 1024, maxRedirects: 3 });
  });
});
