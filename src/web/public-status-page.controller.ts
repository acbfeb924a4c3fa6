import { Controller, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpRequest, type HttpResponse, HTML, headerOf } from '../common/http.js';
import { etagOf, stillFresh } from '../common/etag.js';
import { PublicStatusService } from '../pos/public-status.service.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PublicPage } from './page-routes.js';

/** Where published status pages live; app.setup.ts lets only these be framed by other sites. */
export const PUBLIC_STATUS_PATH = '/public/status/';
/**
 * Caches (the browser's, a proxy's, the administration site's) may keep the page but must ask
 * again before each use: a revoked address then answers 404 at once, while an unchanged page is
 * confirmed (304 for its ETag) without being sent again. The numbers themselves are cached in the
 * process (PublicStatusService).
 */
const CACHE_CONTROL = 'public, no-cache';

/**
 * `/public/status/<token>`: an authority's connection status as published by its administrator,
 * for the administration's site (a link or the iframe snippet). No personal data: names of
 * organisations, ЛКО numbers, readiness, widget and counts. An address that is not published —
 * never was, revoked, replaced — is 404.
 */
@ApiExcludeController()
@Controller('public/status')
export class PublicStatusPageController {
  constructor(
    private readonly publicStatus: PublicStatusService,
    private readonly pages: PageRenderer,
  ) {}

  @PublicPage(':token')
  async page(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Param('token') token: string,
  ): Promise<void> {
    const view = await this.publicStatus.view(token);
    if (!view)
      return this.pages.send(response, 404, 'message', {
        title: 'Страница не найдена',
        paragraphs: ['Статус подключения по этому адресу не опубликован.'],
        links: [],
      });
    const html = this.pages.render('public-status', {
      ...view,
      updatedAt: view.updatedAt.toLocaleString('ru-RU', {
        timeZone: 'Europe/Moscow',
        dateStyle: 'short',
        timeStyle: 'short',
      }),
    });
    // The same page for everyone, nothing personal: shared caches may keep it, and revalidate.
    // Only a published address gets here: a revoked one is 404 whatever validator it brings.
    const etag = etagOf(html);
    response.header('Cache-Control', CACHE_CONTROL).header('ETag', etag);
    if (stillFresh(headerOf(request, 'if-none-match'), etag)) {
      response.status(304).send();
      return;
    }
    // Framing is allowed on this route by the CSP's frame-ancestors, and no X-Frame-Options
    // (app.setup.ts).
    response.status(200).type(HTML).send(html);
  }
}
