import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SITE_FETCH_LIMITS } from '../../src/pos/widget-placement/site-fetch.js';

const exec = promisify(execFile);

export interface WidgetSite {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** The self-signed certificate (PEM), the only trust anchor that accepts the site. */
  ca: string;
  caFile: string;
  close(): Promise<void>;
}

/**
 * An official site for the widget placement check: real https on 127.0.0.1 with a self-signed
 * certificate made by openssl. `/with-widget` carries `page()`; the other paths are the cases the
 * check must refuse (redirects to http and to another address, a loop, 1 MiB + 1, JSON, silence).
 */
export async function startWidgetSite(page: () => string): Promise<WidgetSite> {
  const dir = await mkdtemp(join(tmpdir(), 'widget-site-'));
  const [key, caFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await exec('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', caFile, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ]); // prettier-ignore
  const ca = await readFile(caFile, 'utf8');
  const server = createServer({ key: await readFile(key), cert: ca }, (request, response) => {
    const html = (body: string) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(body);
    };
    const redirect = (status: number, location: string) => {
      response.writeHead(status, { location });
      response.end();
    };
    const port = (server.address() as AddressInfo).port;
    switch (request.url ?? '') {
      case '/with-widget':
        return html(`<!doctype html><html><body><h1>Школа № 5</h1>${page()}</body></html>`);
      case '/without':
        return html('<!doctype html><html><body><h1>Школа № 5</h1><p>Новости</p></body></html>');
      case '/redirect':
        return redirect(302, '/with-widget');
      case '/redirect-private':
        return redirect(302, `https://127.0.0.2:${port}/with-widget`);
      case '/redirect-http':
        return redirect(301, `http://127.0.0.1:${port}/with-widget`);
      case '/loop':
        return redirect(302, '/loop');
      case '/big':
        return html(`<html>${'x'.repeat(SITE_FETCH_LIMITS.maxBytes + 1)}</html>`);
      case '/json':
        response.writeHead(200, { 'content-type': 'application/json' });
        return response.end(JSON.stringify({ page: page() }));
      case '/slow':
        return; // never answers
      default:
        response.writeHead(404, { 'content-type': 'text/html' });
        return response.end('<h1>Не найдено</h1>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca,
    caFile,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
