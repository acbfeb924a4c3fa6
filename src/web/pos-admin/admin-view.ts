import { Injectable } from '@nestjs/common';
import { type HttpRequest, type HttpResponse, seeOther } from '../../common/http.js';
import { DomainError, type FieldErrors } from '../../common/errors.js';
import { type MemberResponse } from '../../pos/dto/member.dto.js';
import { OrganizationsService } from '../../pos/organizations.service.js';
import { PosAccess } from '../../pos/pos-access.service.js';
import { ROLES } from '../../pos/roles.js';
import { WIDGET_VARIANTS, WidgetService } from '../../pos/widget.service.js';
import { type SessionResponse } from '../../sessions/dto/session.response.js';
import { type Session } from '../../sessions/session.entity.js';
import { PageContext } from '../page-context.js';
import { PageRenderer } from '../../rendering/page-renderer.js';
import { widgetTab } from '../pos-admin-widget.js';
import { StatusTab } from '../pos-status-tab.js';
import { sessionRow } from '../session-rows.js';
import { type Notice } from '../../rendering/page.texts.js';
import { ORGANIZATION_KINDS, WIDGET_VARIANT_NAMES } from '../web.texts.js';
import { MembersListView } from './members-list.js';
import { isId } from '../../common/ids.js';

export const ADMIN_TABS = ['members', 'add', 'archive', 'data', 'widget', 'status'] as const;
export type Tab = (typeof ADMIN_TABS)[number];

const TAB_NAMES: Record<Tab, string> = {
  members: 'Пользователи',
  add: 'Добавить пользователя',
  archive: 'Архив',
  data: 'Данные организации',
  widget: 'Виджет для сайта',
  status: 'Статус подключения',
};

export interface AdminView {
  status: number;
  tab: Tab;
  organizationId?: string;
  notice?: Notice;
  errors?: FieldErrors;
  values?: Record<string, unknown>;
  /** One member's «Активные сеансы» instead of the tab's content. */
  memberSessions?: { member: MemberResponse; sessions: SessionResponse[]; private: boolean };
}

export function adminUrl(organizationId: string, tab: Tab, notice?: string): string {
  const query = new URLSearchParams({ org: organizationId, tab, ...(notice && { notice }) });
  return `/pos/admin?${query.toString()}`;
}

export function memberSessionsUrl(membershipId: string, notice?: string): string {
  return `/pos/admin/members/${membershipId}/sessions${notice ? `?notice=${notice}` : ''}`;
}

/** The /pos/admin page as the view model has it: a tab of one organisation, or why there is none. */
@Injectable()
export class PosAdminView {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly statusTab: StatusTab,
    private readonly widgets: WidgetService,
    private readonly access: PosAccess,
    private readonly context: PageContext,
    private readonly pages: PageRenderer,
    private readonly memberList: MembersListView,
  ) {}

  /** A refused action: the tab again, with the refusal as a notice or under the fields. */
  async refused(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    error: unknown,
    view: Omit<AdminView, 'status'>,
  ): Promise<void> {
    await this.render(request, response, session, {
      ...view,
      ...this.context.refusal(error, 'Проверьте поля, отмеченные ниже'),
    });
  }

  notFound(response: HttpResponse): void {
    this.context.notFound(response, { href: '/pos/admin', text: 'Администрирование ЛКО' });
  }

  async render(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    view: AdminView,
  ): Promise<void> {
    const user = session.user;
    const roots = await this.organizations.adminRoots(user);
    if (roots.length === 0) {
      try {
        // Says why: no admin role, or the two first-login boxes not ticked yet.
        await this.access.requireArea(user, 'admin');
      } catch (error) {
        if (error instanceof DomainError && error.code === 'confirmation_required')
          return seeOther(response, '/pos');
        if (!(error instanceof DomainError)) throw error;
        return this.pages.send(response, 403, 'message', {
          title: 'Нет доступа к администрированию',
          paragraphs: [
            'Раздел доступен администраторам личных кабинетов организаций («Администратор ЛКО»).',
          ],
          code: error.code,
          links: [{ href: '/pos', text: 'Мои организации' }],
        });
      }
      // Only a platform operator gets here with no organisation: they create the first one.
      return this.pages.send(response, 200, 'message', {
        title: 'Организаций пока нет',
        paragraphs: [
          'Создайте первый орган администрации и пригласите его администратора на странице «Оператор платформы».',
        ],
        links: [{ href: '/pos/operator', text: 'Оператор платформы' }],
      });
    }
    const organizationId = view.organizationId ?? roots[0].id;
    if (!isId(organizationId)) return this.notFound(response);
    let trail;
    try {
      trail = await this.organizations.trail(user, organizationId);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.context.organizationRefused(response, error);
    }
    const organization = trail[trail.length - 1];
    const tab = view.tab;
    const data: Record<string, unknown> = {};
    if (view.memberSessions) {
      const { member, sessions } = view.memberSessions;
      data.memberSessions = {
        member,
        private: view.memberSessions.private,
        sessions: sessions.map(sessionRow),
        backHref: adminUrl(organization.id, 'members'),
      };
    } else if (tab === 'members' || tab === 'archive') {
      Object.assign(data, await this.memberList.view(user, organization.id, tab, request.query));
      // No «В архив» on the administrator's own row: the service refuses it anyway.
      data.own = (await this.access.memberships(user)).map((m) => m.id);
    }
    if (tab === 'data') {
      data.children = await this.organizations.children(user, organization.id);
    }
    if (tab === 'widget')
      data.widgetTab = await widgetTab(this.widgets, this.access, user, organization.id);
    if (tab === 'status')
      Object.assign(data, await this.statusTab.data(user, organization, request.query));
    this.pages.send(response, view.status, 'pos-admin', {
      pageUrl: view.memberSessions
        ? memberSessionsUrl(view.memberSessions.member.id)
        : adminUrl(organization.id, tab),
      ...(await this.context.header(request, response, session, 'admin')),
      roots,
      trail,
      organization,
      kindName: ORGANIZATION_KINDS[organization.kind] ?? organization.kind,
      tab,
      tabs: ADMIN_TABS.map((code) => ({
        code,
        name: TAB_NAMES[code],
        href: adminUrl(organization.id, code),
      })),
      roles: ROLES,
      variants: WIDGET_VARIANTS.map((code) => ({ code, name: WIDGET_VARIANT_NAMES[code] })),
      values: view.values ?? {},
      errors: view.errors ?? {},
      notice: view.notice,
      ...data,
    });
  }
}
