import { Body, Controller, Param, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpResponse, seeOther } from '../../common/http.js';
import { type StaleForm } from '../../sessions/auth-context.js';
import { validatePayload } from '../../common/validation.js';
import { CreateOrganizationDto, UpdateOrganizationDto } from '../../pos/dto/organization.dto.js';
import { MembersService } from '../../pos/members.service.js';
import { OrganizationKind } from '../../pos/organization.entity.js';
import { OrganizationTree } from '../../pos/organization-tree.service.js';
import { OrganizationsService } from '../../pos/organizations.service.js';
import { PosErrors } from '../../pos/pos.texts.js';
import { STALE_FORM } from '../../rendering/page.texts.js';
import {
  CreateOrganizationFormDto,
  InviteAdminFormDto,
  MoveOrganizationFormDto,
  RenameOrganizationFormDto,
} from './dto/operator-forms.dto.js';
import { addMemberPayload, emptyToUndefined } from '../dto/person-form.dto.js';
import { RecentAuthentication } from '../../sessions/recent-authentication.guard.js';
import { OperatorPagesGuard } from './operator-pages.guard.js';
import { operatorUrl, OperatorView, type OperatorViewState } from './operator-view.js';
import { PageContext } from '../page-context.js';
import { FormPage, type FormPageState, type PageQuery, queryText } from '../form-page.js';
import { OPERATOR_NOTICES, OPERATOR_TABS, type OperatorTab } from './operator.texts.js';
import { PageForm } from '../page-routes.js';
import { ID, isId } from '../../common/ids.js';
import { Call, type PageCall } from '../page-call.js';

const orgUrl = (id: string, notice: string) =>
  `${operatorUrl('organizations', { org: id, notice })}#org-panel`;

/** What the address of /pos/operator chooses: a tab, an organisation, a page of the user search. */
type OperatorPageQuery = Pick<OperatorViewState, 'tab' | 'organizationId' | 'q' | 'after'>;

/**
 * /pos/operator: the platform operator's pages, and here the organisation tree — create an
 * authority, «Добавить подведомственное учреждение», rename, move, invite the first administrator.
 * Every change goes through the services the API and the command line use (and their audit
 * events); OperatorPagesGuard lets platform operators only.
 */
@ApiExcludeController()
@Controller('pos/operator')
@UseGuards(OperatorPagesGuard)
export class OperatorPageController extends FormPage<OperatorPageQuery> {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly tree: OrganizationTree,
    private readonly members: MembersService,
    private readonly view: OperatorView,
    context: PageContext,
  ) {
    super(context, OPERATOR_NOTICES);
  }

  /** The tab `?tab=` names, its organisation (`?org=`) and the user search (`?q=`, `?after=`). */
  protected override fromQuery(query: PageQuery): OperatorPageQuery {
    return {
      tab: OPERATOR_TABS.find((code) => code === query.tab) ?? 'organizations',
      organizationId: queryText(query.org, 64),
      q: queryText(query.q, 200),
      after: queryText(query.after, 64),
    };
  }

  protected render(page: FormPageState, extra: Partial<OperatorPageQuery>): Promise<void> {
    const { request, response, session, status, notice } = page;
    return this.view.render(request, response, session, {
      status,
      notice,
      ...extra,
      tab: extra.tab ?? 'organizations',
    });
  }

  /** «Создать орган администрации» (top level), or an institution under `parentId`. */
  @PageForm('/pos/operator', 'organizations')
  async create(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: CreateOrganizationFormDto,
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
    seeOther(response, orgUrl(id, parentId ? 'child_created' : 'created'));
  }

  @PageForm('/pos/operator', 'organizations/:id/rename')
  async rename(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() form: RenameOrganizationFormDto,
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
    seeOther(response, orgUrl(id, 'renamed'));
  }

  /** Under another parent (`top`: the top level); refused under its own subtree. */
  @PageForm('/pos/operator', 'organizations/:id/move')
  async move(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() form: MoveOrganizationFormDto,
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
    seeOther(response, orgUrl(id, 'moved'));
  }

  /** The first «Администратор ЛКО»: an invitation through the outbox, as admin:invite sends it. */
  @RecentAuthentication()
  @PageForm('/pos/operator', 'organizations/:id/invite')
  async invite(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() form: InviteAdminFormDto,
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
    seeOther(response, orgUrl(id, 'invited'));
  }

  override async staleForm({ request, response, auth, handler, field }: StaleForm): Promise<void> {
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
