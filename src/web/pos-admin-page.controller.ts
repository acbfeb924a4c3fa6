import { Body, Get, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { AdminPages } from './pos-admin/admin-pages.js';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import { type Request, type Response } from 'express';
import { FormPost, Page } from '../common/auth-decorators.js';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError, type FieldErrors } from '../common/errors.js';
import { validatePayload } from '../common/validation.js';
import { AddMemberDto, type MemberResponse } from '../pos/dto/member.dto.js';
import { MemberSessions } from '../pos/member-sessions.service.js';
import { UpdateOrganizationDto } from '../pos/dto/organization.dto.js';
import { MembersService } from '../pos/members.service.js';
import { OrganizationsService } from '../pos/organizations.service.js';
import { PosAccess } from '../pos/pos-access.service.js';
import { ROLES } from '../pos/roles.js';
import {
  actionIn,
  grantsAdmin,
  RecentAuthentication,
} from '../sessions/recent-authentication.guard.js';
import { WIDGET_VARIANTS, WidgetDto, WidgetService } from '../pos/widget.service.js';
import { type SessionResponse } from '../sessions/dto/session.response.js';
import { type Session } from '../sessions/session.entity.js';
import { PageContext } from './page-context.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { widgetTab } from './pos-admin-widget.js';
import { StatusTab } from './pos-status-tab.js';
import { MembersListView } from './pos-admin/members-list.js';
import { sessionRow } from './session-rows.js';
import { ADMIN_NOTICES, ORGANIZATION_KINDS, WIDGET_VARIANT_NAMES } from './web.texts.js';
import { noticeOf, type Notice, STALE_FORM } from '../rendering/page.texts.js';

export const ADMIN_TABS = ['members', 'add', 'archive', 'data', 'widget', 'status'] as const;
type Tab = (typeof ADMIN_TABS)[number];

const TAB_NAMES: Record<Tab, string> = {
  members: 'Пользователи',
  add: 'Добавить пользователя',
  archive: 'Архив',
  data: 'Данные организации',
  widget: 'Виджет для сайта',
  status: 'Статус подключения',
};

const asList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? [value] : value;

class OrganizationFormDto {
  @IsString()
  @MaxLength(100)
  csrf!: string;

  @IsUUID('4')
  organizationId!: string;
}

export class AddMemberFormDto extends OrganizationFormDto {
  @IsString()
  @MaxLength(1000)
  email!: string;

  @IsString()
  @MaxLength(1000)
  lastName!: string;

  @IsString()
  @MaxLength(1000)
  firstName!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  middleName?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  snils?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  position?: string;

  /** Checkboxes: absent when none is ticked, a string for one, a list for several. */
  @IsOptional()
  @Transform(asList)
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  roles?: string[];
}

export class MemberActionFormDto extends OrganizationFormDto {}

export class OrganizationDataFormDto extends OrganizationFormDto {
  @IsString()
  @MaxLength(1000)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  officialSiteUrl?: string;
}

export class WidgetFormDto extends OrganizationFormDto {
  @IsIn(WIDGET_VARIANTS)
  variant!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  bannerText?: string;

  @IsString()
  @MaxLength(1000)
  siteUrl!: string;
}

const ACTIONS = {
  resend: { notice: 'resent', tab: 'members' },
  archive: { notice: 'archived', tab: 'members' },
  restore: { notice: 'restored', tab: 'archive' },
} as const;
type Action = keyof typeof ACTIONS;

/** The tab each form is on, to show it again when it is stale. */
const STALE_FORM_TABS: Partial<Record<string, Tab>> = {
  add: 'add',
  endMemberSessions: 'members',
  updateOrganization: 'data',
  widget: 'widget',
};

interface AdminView {
  status: number;
  tab: Tab;
  organizationId?: string;
  notice?: Notice;
  errors?: FieldErrors;
  values?: Record<string, unknown>;
  /** One member's «Активные сеансы» instead of the tab's content. */
  memberSessions?: { member: MemberResponse; sessions: SessionResponse[]; private: boolean };
}

const ID = new ParseUUIDPipe({ version: '4' });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function adminUrl(organizationId: string, tab: Tab, notice?: string): string {
  const query = new URLSearchParams({ org: organizationId, tab, ...(notice && { notice }) });
  return `/pos/admin?${query.toString()}`;
}

function memberSessionsUrl(membershipId: string, notice?: string): string {
  return `/pos/admin/members/${membershipId}/sessions${notice ? `?notice=${notice}` : ''}`;
}

/** An optional field left empty. `null` too: the form DTOs allow it, and a JSON post can send it. */
function emptyToUndefined(value: string | null | undefined): string | undefined {
  return value === undefined || value === null || value.trim() === '' ? undefined : value;
}

/**
 * /pos/admin: the «Администратор ЛКО» area as pages. Every action goes through the same services
 * (and so the same organisation-scope checks) as the API; forms carry the CSRF token.
 */
@AdminPages('pos/admin')
export class PosAdminPageController implements StaleFormPage {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly members: MembersService,
    private readonly statusTab: StatusTab,
    private readonly widgets: WidgetService,
    private readonly access: PosAccess,
    private readonly memberSessions: MemberSessions,
    private readonly context: PageContext,
    private readonly pages: PageRenderer,
    private readonly memberList: MembersListView,
  ) {}

  @Get()
  @Page()
  async page(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Query('org') org: unknown,
    @Query('tab') tab: unknown,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    await this.render(request, response, session, {
      status: 200,
      tab: ADMIN_TABS.includes(tab as Tab) ? (tab as Tab) : 'members',
      organizationId: typeof org === 'string' ? org : undefined,
      notice: noticeOf(ADMIN_NOTICES, notice),
    });
  }

  /** «Добавить пользователя». */
  @Post('members')
  @RecentAuthentication(grantsAdmin)
  @Page({ returnTo: '/pos/admin' })
  @FormPost()
  async add(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: AddMemberFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const values = { ...form, roles: form.roles ?? [] };
    try {
      const dto = await validatePayload(AddMemberDto, {
        email: form.email,
        lastName: form.lastName,
        firstName: form.firstName,
        ...(emptyToUndefined(form.middleName) && { middleName: form.middleName }),
        ...(emptyToUndefined(form.snils) && { snils: form.snils }),
        ...(emptyToUndefined(form.position) && { position: form.position }),
        roles: form.roles ?? [],
      });
      await this.members.add(session.user, form.organizationId, dto, client);
    } catch (error) {
      return this.failed(request, response, session, error, {
        tab: 'add',
        organizationId: form.organizationId,
        values,
      });
    }
    response.redirect(303, adminUrl(form.organizationId, 'members', 'added'));
  }

  /** «Отправить повторно», «В архив», «Восстановить». */
  @Post('members/:id/:action')
  @RecentAuthentication(actionIn('archive'))
  @Page({ returnTo: '/pos/admin' })
  @FormPost()
  async memberAction(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Param('action') action: string,
    @Body() form: MemberActionFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    if (!Object.hasOwn(ACTIONS, action)) return this.notFound(response);
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
      return this.failed(request, response, session, error, {
        tab,
        organizationId: form.organizationId,
      });
    }
    response.redirect(303, adminUrl(member.organizationId, tab, notice));
  }

  /**
   * A member's «Активные сеансы»: the sessions of the person bound to the account, which the
   * administrator may end (the same service and rules as `GET /api/v1/pos/members/:id/sessions`:
   * the account in the subtree, and every live account of the person too).
   */
  @Get('members/:id/sessions')
  @Page()
  async memberSessionsPage(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Query('notice') notice: unknown,
    @Client() client: ClientInfo,
  ): Promise<void> {
    let overview: AdminView['memberSessions'];
    try {
      overview = await this.memberSessions.overview(session.user, session.id, id, client);
    } catch (error) {
      return this.failed(request, response, session, error, { tab: 'members' });
    }
    await this.render(request, response, session, {
      status: 200,
      tab: 'members',
      organizationId: overview.member.organizationId,
      notice: noticeOf(ADMIN_NOTICES, notice),
      memberSessions: overview,
    });
  }

  /** «Завершить все сеансы» of a member's person (`DELETE /api/v1/pos/members/:id/sessions`). */
  @Post('members/:id/sessions/end')
  @Page({ returnTo: '/pos/admin' })
  @FormPost()
  async endMemberSessions(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Body() form: MemberActionFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      await this.memberSessions.endAll(session.user, id, client);
    } catch (error) {
      return this.failed(request, response, session, error, {
        tab: 'members',
        organizationId: form.organizationId,
      });
    }
    response.redirect(303, memberSessionsUrl(id, 'sessions_ended'));
  }

  @Post('organization')
  @Page({ returnTo: '/pos/admin' })
  @FormPost()
  async updateOrganization(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: OrganizationDataFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const dto = await validatePayload(UpdateOrganizationDto, {
        name: form.name,
        officialSiteUrl: emptyToUndefined(form.officialSiteUrl) ?? null,
      });
      await this.organizations.update(session.user, form.organizationId, dto, client);
    } catch (error) {
      return this.failed(request, response, session, error, {
        tab: 'data',
        organizationId: form.organizationId,
        values: { ...form },
      });
    }
    response.redirect(303, adminUrl(form.organizationId, 'data', 'saved'));
  }

  /** The widget generator: the code for the official site, ending in the ЛКО number. */
  @Post('widget')
  @Page({ returnTo: '/pos/admin' })
  @FormPost()
  async widget(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: WidgetFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const dto = await validatePayload(WidgetDto, {
        variant: form.variant,
        siteUrl: form.siteUrl,
        ...(emptyToUndefined(form.bannerText) && { bannerText: form.bannerText }),
      });
      await this.widgets.generate(session.user, form.organizationId, dto, client);
    } catch (error) {
      return this.failed(request, response, session, error, {
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
      if (!Object.hasOwn(ACTIONS, action)) return this.notFound(response);
      tab = ACTIONS[action as Action].tab;
    } else {
      tab = STALE_FORM_TABS[handler] ?? 'members';
    }
    await this.render(request, response, session, {
      status: 403,
      tab,
      organizationId: field('organizationId'),
      notice: { kind: 'error', text: STALE_FORM },
    });
  }

  private async failed(
    request: Request,
    response: Response,
    session: Session,
    error: unknown,
    view: Omit<AdminView, 'status'>,
  ): Promise<void> {
    await this.render(request, response, session, {
      ...view,
      ...this.context.refusal(error, 'Проверьте поля, отмеченные ниже'),
    });
  }

  private notFound(response: Response): void {
    this.context.notFound(response, { href: '/pos/admin', text: 'Администрирование ЛКО' });
  }

  private async render(
    request: Request,
    response: Response,
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
          return response.redirect(303, '/pos');
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
    if (!UUID.test(organizationId)) return this.notFound(response);
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
