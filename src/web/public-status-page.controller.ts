import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type Response } from 'express';
import { Public } from '../common/auth-decorators.js';
import { PUBLIC_STATUS_MAX_AGE_S, PublicStatusService } from '../pos/public-status.service.js';
import { PageRenderer } from './page-renderer.js';

/** Where published status pages live; app.setup.ts lets only these be framed by other sites. */
export const PUBLIC_STATUS_PATH = '/public/status/';
const CACHE_CONTROL = `public, max-age=${PUBLIC_STATUS_MAX_AGE_S}`;

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

  @Get(':token')
  @Public()
  async page(@Res() response: Response, @Param('token') token: string): Promise<void> {
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
    // The same page for everyone, nothing personal: shared caches may keep it for a minute.
    response.status(200).type('html').setHeader('Cache-Control', CACHE_CONTROL);
    // Framing is allowed by the CSP's frame-ancestors on this route (app.setup.ts).
    response.removeHeader('X-Frame-Options');
    response.send(html);
  }
}
