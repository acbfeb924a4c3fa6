import { Body, Param, Query, Req, Res } from '@nestjs/common';
import { AdminPages } from './pos-admin/admin-pages.js';
import { type Request, type Response } from 'express';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { type MemberResponse } from '../pos/dto/member.dto.js';
import { MembersService } from '../pos/members.service.js';
import { OrganizationsService } from '../pos/organizations.service.js';
import {
  actionIn,
  grantsAdmin,
  RecentAuthentication,
} from '../sessions/recent-authentication.guard.js';
import { WidgetService } from '../pos/widget.service.js';
import {
  AddMemberFormDto,
  MemberActionFormDto,
  OrganizationDataFormDto,
  organizationPayload,
  WidgetFormDto,
  widgetPayload,
} from './dto/pos-admin-forms.dto.js';
import { addMemberPayload } from './dto/person-form.dto.js';
import { ADMIN_TABS, adminUrl, PosAdminView, type Tab } from './pos-admin/admin-view.js';
import { PageContext } from './page-context.js';
import { noticeOf, STALE_FORM } from '../rendering/page.texts.js';
import { ADMIN_NOTICES } from './web.texts.js';
import { ID } from './ids.js';
import { PageForm, SignedInPage } from './page-routes.js';

const ACTIONS = {
  resend: { notice: 'resent', tab: 'members' },
  archive: { notice: 'archived', tab: 'members' },
  restore: { notice: 'restored', tab: 'archive' },
} as const;
type Action = keyof typeof ACTIONS;

/** The tab each form is on, to show it again when it is stale. */
const STALE_FORM_TABS: Partial<Record<string, Tab>> = {
  add: 'add',
  updateOrganization: 'data',
  widget: 'widget',
};

/**
 * /pos/admin: the «Администратор ЛКО» area as pages. Every action goes through the same services
 * (and so the same organisation-scope checks) as the API; forms carry the CSRF token.
 */
@AdminPages('pos/admin')
export class PosAdminPageController implements StaleFormPage {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly members: MembersService,
    private readonly widgets: WidgetService,
    private readonly view: PosAdminView,
    private readonly context: PageContext,
  ) {}

  @SignedInPage()
  async page(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Query('org') org: unknown,
    @Query('tab') tab: unknown,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    await this.view.render(request, response, session, {
      status: 200,
      tab: ADMIN_TABS.includes(tab as Tab) ? (tab as Tab) : 'members',
      organizationId: typeof org === 'string' ? org : undefined,
      notice: noticeOf(ADMIN_NOTICES, notice),
    });
  }

  /** «Добавить пользователя». */
  @RecentAuthentication(grantsAdmin)
  @PageForm('/pos/admin', 'members')
  async add(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: AddMemberFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const values = { ...form, roles: form.roles ?? [] };
    try {
      const dto = await addMemberPayload(form, form.roles ?? []);
      await this.members.add(session.user, form.organizationId, dto, client);
    } catch (error) {
      return this.view.refused(request, response, session, error, {
        tab: 'add',
        organizationId: form.organizationId,
        values,
      });
    }
    response.redirect(303, adminUrl(form.organizationId, 'members', 'added'));
  }

  /** «Отправить повторно», «В архив», «Восстановить». */
  @RecentAuthentication(actionIn('archive'))
  @PageForm('/pos/admin', 'members/:id/:action')
  async memberAction(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Param('action') action: string,
    @Body() form: MemberActionFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    if (!Object.hasOwn(ACTIONS, action)) return this.view.notFound(response);
    const { notice, tab } = ACTIONS[action as Action];
    let member: MemberResponse;
    try {
      member =
        action === 'resend'
          ? await this.members.resend(session.user, id, client)
          : action === 'archive'
            ? await this.members.archive(session.user, id, client)
            : await this.members.restore(session.user, id, client);
    } catch (error) {
      return this.view.refused(request, response, session, error, {
        tab,
        organizationId: form.organizationId,
      });
    }
    response.redirect(303, adminUrl(member.organizationId, tab, notice));
  }

  @PageForm('/pos/admin', 'organization')
  async updateOrganization(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: OrganizationDataFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const dto = await organizationPayload(form);
      await this.organizations.update(session.user, form.organizationId, dto, client);
    } catch (error) {
      return this.view.refused(request, response, session, error, {
        tab: 'data',
        organizationId: form.organizationId,
        values: { ...form },
      });
    }
    response.redirect(303, adminUrl(form.organizationId, 'data', 'saved'));
  }

  /** The widget generator: the code for the official site, ending in the ЛКО number. */
  @PageForm('/pos/admin', 'widget')
  async widget(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: WidgetFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const dto = await widgetPayload(form);
      await this.widgets.generate(session.user, form.organizationId, dto, client);
    } catch (error) {
      return this.view.refused(request, response, session, error, {
        tab: 'widget',
        organizationId: form.organizationId,
        values: { ...form },
      });
    }
    response.redirect(303, `${adminUrl(form.organizationId, 'widget')}#widget-code`);
  }

  /** A stale form: the tab it was posted from again, in its organisation. */
  async staleForm(form: StaleForm): Promise<void> {
    const { request, response, handler, field } = form;
    const { session } = this.context.staleAuth(form);
    let tab: Tab;
    if (handler === 'memberAction') {
      const action = String(request.params.action);
      if (!Object.hasOwn(ACTIONS, action)) return this.view.notFound(response);
      tab = ACTIONS[action as Action].tab;
    } else {
      tab = STALE_FORM_TABS[handler] ?? 'members';
    }
    await this.view.render(request, response, session, {
      status: 403,
      tab,
      organizationId: field('organizationId'),
      notice: { kind: 'error', text: STALE_FORM },
    });
  }
}
