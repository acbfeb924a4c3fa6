import { Body, Param, Res } from '@nestjs/common';
import { AdminPages } from './pos-admin/admin-pages.js';
import { type HttpResponse, seeOther } from '../common/http.js';
import { type StaleForm } from '../sessions/auth-context.js';
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
import {
  ADMIN_TABS,
  adminUrl,
  type AdminView,
  PosAdminView,
  type Tab,
} from './pos-admin/admin-view.js';
import { FormPage, type FormPageState, type PageQuery, queryText } from './form-page.js';
import { PageContext } from './page-context.js';
import { STALE_FORM } from '../rendering/page.texts.js';
import { ADMIN_NOTICES } from './web.texts.js';
import { ID } from '../common/ids.js';
import { PageForm } from './page-routes.js';
import { Call, type PageCall } from './page-call.js';

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

/** Which tab of which organisation /pos/admin shows. */
type AdminTab = Pick<AdminView, 'tab' | 'organizationId'>;

/**
 * /pos/admin: the «Администратор ЛКО» area as pages. Every action goes through the same services
 * (and so the same organisation-scope checks) as the API; forms carry the CSRF token.
 */
@AdminPages('pos/admin')
export class PosAdminPageController extends FormPage<AdminTab> {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly members: MembersService,
    private readonly widgets: WidgetService,
    private readonly view: PosAdminView,
    context: PageContext,
  ) {
    super(context, ADMIN_NOTICES);
  }

  /** The tab `?tab=` names (the members by default) of the organisation `?org=` names. */
  protected override fromQuery(query: PageQuery): AdminTab {
    const { tab, org } = query;
    return {
      tab: ADMIN_TABS.includes(tab as Tab) ? (tab as Tab) : 'members',
      organizationId: queryText(org),
    };
  }

  protected render(page: FormPageState, { tab, organizationId }: Partial<AdminTab>): Promise<void> {
    const { request, response, session, status, notice } = page;
    return this.view.render(request, response, session, {
      status,
      notice,
      tab: tab ?? 'members',
      organizationId,
    });
  }

  /** «Добавить пользователя». */
  @RecentAuthentication(grantsAdmin)
  @PageForm('/pos/admin', 'members')
  async add(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: AddMemberFormDto,
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
    seeOther(response, adminUrl(form.organizationId, 'members', 'added'));
  }

  /** «Отправить повторно», «В архив», «Восстановить». */
  @RecentAuthentication(actionIn('archive'))
  @PageForm('/pos/admin', 'members/:id/:action')
  async memberAction(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Param('action') action: string,
    @Body() form: MemberActionFormDto,
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
    seeOther(response, adminUrl(member.organizationId, tab, notice));
  }

  @PageForm('/pos/admin', 'organization')
  async updateOrganization(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: OrganizationDataFormDto,
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
    seeOther(response, adminUrl(form.organizationId, 'data', 'saved'));
  }

  /** The widget generator: the code for the official site, ending in the ЛКО number. */
  @PageForm('/pos/admin', 'widget')
  async widget(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: WidgetFormDto,
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
    seeOther(response, `${adminUrl(form.organizationId, 'widget')}#widget-code`);
  }

  /** A stale form: the tab it was posted from again, in its organisation. */
  override async staleForm(form: StaleForm): Promise<void> {
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
