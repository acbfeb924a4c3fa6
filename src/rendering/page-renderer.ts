import { Injectable } from '@nestjs/common';
import { Eta } from 'eta';
import { type HttpResponse, HTML, requestOf } from '../common/http.js';
import { fileURLToPath } from 'node:url';

/**
 * Server-rendered pages (eta, escaping on). Templates live in src/rendering/views and are copied to
 * dist/rendering/views by the build.
 */
@Injectable()
export class PageRenderer {
  private readonly eta = new Eta({
    views: fileURLToPath(new URL('./views', import.meta.url)),
    autoEscape: true,
    cache: true,
  });

  render(view: string, data: object): string {
    return this.eta.render(view, data);
  }

  /**
   * `pageUrl` (the page's own address, which /assets/forms.js puts in the address bar) is kept
   * only in the answer to a POST: a page reached by GET already shows its address, query
   * (`?notice=…`) included.
   */
  send(response: HttpResponse, status: number, view: string, data: object): void {
    response.status(status).type(HTML).header('Cache-Control', 'no-store');
    const posted = requestOf(response).method === 'POST';
    response.send(this.render(view, posted ? data : { ...data, pageUrl: undefined }));
  }
}
