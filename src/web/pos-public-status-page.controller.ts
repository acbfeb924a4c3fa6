import { Body, Param, Res } from '@nestjs/common';
import { AdminPages } from './pos-admin/admin-pages.js';
import { IsUUID } from 'class-validator';
import { type HttpResponse, seeOther } from '../common/http.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { DomainError } from '../common/errors.js';
import { PublicStatusService } from '../pos/public-status.service.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { STALE_FORM } from '../rendering/page.texts.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { PageForm } from './page-routes.js';
import { isId } from '../common/ids.js';
import { Call, type PageCall } from './page-call.js';

export class PublicStatusFormDto extends CsrfFormDto {
  @IsUUID('4')
  organizationId!: string;
}

const ACTIONS = {
  publish: 'status_published',
  regenerate: 'status_regenerated',
  revoke: 'status_revoked',
} as const;
type Action = keyof typeof ACTIONS;

function statusTabUrl(organizationId: string, notice?: string): string {
  const query = new URLSearchParams({
    org: organizationId,
    tab: 'status',
    ...(notice && { notice }),
  });
  return `/pos/admin?${query.toString()}#publication`;
}

/**
 * «Опубликовать статус», «Заменить адрес», «Снять с публикации» on the status tab of
 * /pos/admin: an authority's administrator publishes its subtree's connection status.
 */
@AdminPages('pos/admin/public-status')
export class PosPublicStatusPageController implements StaleFormPage {
  constructor(
    private readonly publicStatus: PublicStatusService,
    private readonly pages: PageRenderer,
  ) {}

  @PageForm('/pos/admin?tab=status', ':action')
  async change(
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Param('action') action: string,
    @Body() form: PublicStatusFormDto,
  ): Promise<void> {
    if (!Object.hasOwn(ACTIONS, action))
      return this.message(response, 404, 'Страница не найдена', 'Проверьте адрес.');
    try {
      if (action === 'revoke')
        await this.publicStatus.revoke(session.user, form.organizationId, client);
      else
        await this.publicStatus.publish(
          session.user,
          form.organizationId,
          client,
          action === 'regenerate',
        );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.message(
        response,
        error.status,
        'Статус подключения не опубликован',
        error.message,
      );
    }
    seeOther(response, statusTabUrl(form.organizationId, ACTIONS[action as Action]));
  }

  staleForm({ response, field }: StaleForm): Promise<void> {
    const posted = field('organizationId');
    const organizationId = posted && isId(posted) ? posted : undefined;
    this.message(response, 403, 'Форма устарела', STALE_FORM, organizationId);
    return Promise.resolve();
  }

  private message(
    response: HttpResponse,
    status: number,
    title: string,
    text: string,
    organizationId?: string,
  ): void {
    this.pages.send(response, status, 'message', {
      title,
      paragraphs: [text],
      links: [
        {
          href: organizationId ? statusTabUrl(organizationId) : '/pos/admin',
          text: 'Статус подключения',
        },
      ],
    });
  }
}
