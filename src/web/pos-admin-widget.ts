import { Body, Req, Res } from '@nestjs/common';
import { AdminPages } from './pos-admin/admin-pages.js';
import { IsUUID } from 'class-validator';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { DomainError } from '../common/errors.js';
import { type User } from '../identity/user.entity.js';
import { BANNER_SUGGESTIONS, bannerClass, WIDGET_BUTTON } from '../pos/widget-code.js';
import { type WidgetResponse, WidgetService } from '../pos/widget.service.js';
import { checkedOn, placementOf, reasonText } from '../pos/widget-placement/placement-texts.js';
import { WidgetPlacementService } from '../pos/widget-placement/widget-placement.service.js';
import { PosAccess } from '../pos/pos-access.service.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { PageForm } from './page-routes.js';
import { Call, type PageCall } from './page-call.js';

export class WidgetCheckFormDto extends CsrfFormDto {
  @IsUUID('4')
  organizationId!: string;
}

/** What the «Виджет для сайта» tab shows (views/partials/pos-admin-widget.eta). */
export interface WidgetTab {
  widget: WidgetResponse | null;
  suggestions: string[];
  button: string;
  /** The banner class of each design, for the preview (widget-preview.js switches it). */
  designs: Record<string, string>;
  placement: {
    state: string;
    text: string;
    checkedOn: string | null;
    reason: string | null;
    site: string | null;
  };
}

export async function widgetTab(
  widgets: WidgetService,
  access: PosAccess,
  user: User,
  organizationId: string,
): Promise<WidgetTab> {
  const widget = await widgets.current(user, organizationId);
  const organization = await access.administered(user, organizationId);
  const placement = widget?.placement ?? placementOf(organization);
  return {
    widget,
    suggestions: BANNER_SUGGESTIONS,
    button: WIDGET_BUTTON,
    designs: {
      standard: bannerClass('standard'),
      dark: bannerClass('dark'),
      compact: bannerClass('compact'),
    },
    placement: {
      state: placement.state,
      text: placement.text,
      checkedOn: checkedOn(placement),
      reason: reasonText(placement.reason),
      site: organization.officialSiteUrl,
    },
  };
}

/**
 * «Проверить сейчас» on the widget tab: queues the placement check of the official site (the
 * same service and limits as `POST /api/v1/pos/organizations/:id/widget/check`).
 */
@AdminPages('pos/admin/widget')
export class PosAdminWidgetController {
  constructor(
    private readonly placements: WidgetPlacementService,
    private readonly pages: PageRenderer,
  ) {}

  @PageForm('/pos/admin', 'check')
  async check(
    @Req() _request: HttpRequest,
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Body() form: WidgetCheckFormDto,
  ): Promise<void> {
    const back = `/pos/admin?${new URLSearchParams({ org: form.organizationId, tab: 'widget' }).toString()}`;
    try {
      await this.placements.requestCheck(session.user, form.organizationId, client);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.retryAfterSeconds) response.header('Retry-After', String(error.retryAfterSeconds));
      return this.pages.send(response, error.status, 'message', {
        title: 'Проверка не запущена',
        paragraphs: [error.message],
        links: [{ href: back, text: 'Виджет для сайта' }],
      });
    }
    seeOther(response, `${back}&notice=check_queued#widget-placement`);
  }
}
