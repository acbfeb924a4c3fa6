import { Body, Controller, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type Request, type Response } from 'express';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../../sessions/auth-context.js';
import { Client, type ClientInfo } from '../../common/client-info.js';
import { validatePayload } from '../../common/validation.js';
import { CreateOrganizationDto, UpdateOrganizationDto } from '../../pos/dto/organization.dto.js';
import { MembersService } from '../../pos/members.service.js';
import { OrganizationKind } from '../../pos/organization.entity.js';
import { OrganizationTree } from '../../pos/organization-tree.service.js';
import { OrganizationsService } from '../../pos/organizations.service.js';
import { PosErrors } from '../../pos/pos.texts.js';
import { noticeOf, STALE_FORM } from '../../rendering/page.texts.js';
import {
  CreateOrganizationFormDto,
  InviteAdminFormDto,
  MoveOrganizationFormDto,
  RenameOrganizationFormDto,
} from './dto/operator-forms.dto.js';
import { addMemberPayload, emptyToUndefined } from '../dto/person-form.dto.js';
import { RecentAuthentication } from '../../sessions/recent-authentication.guard.js';
import { OperatorPagesGuard } from './operator-pages.guard.js';
import { operatorUrl, OperatorView } from './operator-view.js';
import { OPERATOR_NOTICES, OPERATOR_TABS, type OperatorTab } from './operator.texts.js';
import { SignedInPage, PageForm } from '../page-routes.js';
import { ID, isId } from '../ids.js';

const orgUrl = (id: string, notice: string) =>
  `${operatorUrl('organizations', { org: id, notice })}#org-panel`;

/**
 * /pos/operator: the platform operator's pages, and here the organisation tree — create an
 * authority, «Добавить подведомственное учреждение», rename, move, invite the first administrator.
 * Every change goes through the services the API and the command line use (and their audit
 * events); OperatorPagesGuard lets platform operators only.
 */
@ApiExcludeController()
@Controller('pos/operator')
@UseGuards(OperatorPagesGuard)
export class OperatorPageController implements StaleFormPage {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly tree: OrganizationTree,
    private readonly members: MembersService,
    private readonly view: OperatorView,
  ) {}

  @SignedInPage()
  async page(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Query('tab') tab: unknown,
    @Query('org') org: unknown,
    @Query('notice') notice: unknown,
    @Query('q') q: unknown,
    @Query('after') after: unknown,
  ): Promise<void> {
    const text = (value: unknown, max: number) =>
      typeof value === 'string' ? value.slice(0, max) : undefined;
    await this.view.render(request, response, session, {
      status: 200,
      tab: OPERATOR_TABS.find((code) => code === tab) ?? 'organizations',
      organizationId: text(org, 64),
      notice: noticeOf(OPERATOR_NOTICES, notice),
      q: text(q, 200),
      after: text(after, 64),
    });
  }

  /** «Создать орган администрации» (top level), or an institution under `parentId`. */
  @PageForm('/pos/operator', 'organizations')
  async create(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: CreateOrganizationFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const parentId = emptyToUndefined(form.parentId);
    let id: string;
    try {
      const dto = await validatePayload(CreateOrganizationDto, {
        name: form.name,
        kind: parentId ? OrganizationKind.Institution : OrganizationKind.Authority,
        ...(parentId && { parentId }),
      });
      id = (await this.organizations.create(session.user, dto, client)).id;
    } catch (error) {
      return this.view.failed(request, response, session, error, {
        tab: 'organizations',
        organizationId: parentId,
        form: parentId ? 'child' : 'create',
        values: { ...form },
      });
    }
    response.redirect(303, orgUrl(id, parentId ? 'child_created' : 'created'));
  }

  @PageForm('/pos/operator', 'organizations/:id/rename')
  async rename(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Body() form: RenameOrganizationFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const dto = await validatePayload(UpdateOrganizationDto, { name: form.name });
      await this.organizations.update(session.user, id, dto, client);
    } catch (error) {
      return this.view.failed(request, response, session, error, {
        tab: 'organizations',
        organizationId: id,
        form: 'rename',
        values: { ...form },
      });
    }
    response.redirect(303, orgUrl(id, 'renamed'));
  }

  /** Under another parent (`top`: the top level); refused under its own subtree. */
  @PageForm('/pos/operator', 'organizations/:id/move')
  async move(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Body() form: MoveOrganizationFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const parentId = form.parentId === 'top' ? null : form.parentId;
      if (parentId !== null && !isId(parentId)) throw PosErrors.organizationNotFound();
      await this.tree.move(session.user, id, parentId, client);
    } catch (error) {
      return this.view.failed(request, response, session, error, {
        tab: 'organizations',
        organizationId: id,
        form: 'move',
        values: { ...form },
      });
    }
    response.redirect(303, orgUrl(id, 'moved'));
  }

  /** The first «Администратор ЛКО»: an invitation through the outbox, as admin:invite sends it. */
  @RecentAuthentication()
  @PageForm('/pos/operator', 'organizations/:id/invite')
  async invite(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id', ID) id: string,
    @Body() form: InviteAdminFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      const dto = await addMemberPayload(form, ['admin']);
      await this.members.add(session.user, id, dto, client);
    } catch (error) {
      return this.view.failed(request, response, session, error, {
        tab: 'organizations',
        organizationId: id,
        form: 'invite',
        values: { ...form },
      });
    }
    response.redirect(303, orgUrl(id, 'invited'));
  }

  async staleForm({ request, response, auth, handler, field }: StaleForm): Promise<void> {
    if (!auth) throw new Error('an operator form without a session');
    const id = handler === 'create' ? field('parentId') : String(request.params.id);
    const tab: OperatorTab = 'organizations';
    await this.view.render(request, response, auth.session, {
      status: 403,
      tab,
      organizationId: id,
      notice: { kind: 'error', text: STALE_FORM },
    });
  }
}
