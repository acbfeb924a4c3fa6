import { Body, Param, Res } from '@nestjs/common';
import { IntersectionType, OmitType } from '@nestjs/swagger';
import { AdminPages } from './admin-pages.js';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { type HttpResponse, seeOther } from '../../common/http.js';
import { type StaleForm, type StaleFormPage } from '../../sessions/auth-context.js';
import { validatePayload } from '../../common/validation.js';
import { EditInviteeDto } from '../../pos/dto/invitee-edit.dto.js';
import { ChangeRolesDto } from '../../pos/dto/member.dto.js';
import { MemberEdits } from '../../pos/member-edits.service.js';
import { MembersService } from '../../pos/members.service.js';
import { PageContext } from '../page-context.js';
import { PageRenderer } from '../../rendering/page-renderer.js';
import { STALE_FORM } from '../../rendering/page.texts.js';
import { listParams, membersUrl } from './members-list.js';
import { grantsAdmin, RecentAuthentication } from '../../sessions/recent-authentication.guard.js';
import { PageForm } from '../page-routes.js';
import { CsrfFormDto } from '../../rendering/csrf.js';
import { PersonFormFields } from '../dto/person-form.dto.js';
import { ID } from '../../common/ids.js';
import { Call, type PageCall } from '../page-call.js';

export class MemberListFormDto extends CsrfFormDto {
  @IsUUID('4')
  organizationId!: string;

  /** The list's position (search, filters, sort, page) to come back to. */
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  back?: string;
}

export class MemberRolesFormDto extends MemberListFormDto {
  /** Checkboxes: absent when none is ticked, a string for one, a list for several. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value))
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  roles?: string[];
}

/** «Исправить» an invitee: the fields EditInviteeDto corrects (the position is not one of them). */
export class InviteeFormDto extends IntersectionType(
  MemberListFormDto,
  OmitType(PersonFormFields, ['position']),
) {}

/** Where a list form goes back to: the members tab at the position it was posted from. */
function back(form: MemberListFormDto, notice: string, extra: Record<string, string> = {}): string {
  const url = membersUrl(
    form.organizationId,
    'members',
    listParams(Object.fromEntries(new URLSearchParams(form.back ?? ''))),
    notice,
  );
  const more = new URLSearchParams(extra).toString();
  return more ? `${url}&${more}` : url;
}

/**
 * The members tab's own forms: roles in place, corrections to an invitation still out, and
 * «Отправить повторно всем приглашённым». The same services (and organisation-scope checks,
 * audit, limits) as the API.
 */
@AdminPages('pos/admin/members')
export class PosMembersPageController implements StaleFormPage {
  constructor(
    private readonly members: MembersService,
    private readonly edits: MemberEdits,
    private readonly pages: PageRenderer,
    private readonly context: PageContext,
  ) {}

  /** «Сохранить роли» (`PATCH /api/v1/pos/members/:id/roles`). */
  @RecentAuthentication(grantsAdmin)
  @PageForm('/pos/admin', ':id/edit/roles')
  async roles(
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() form: MemberRolesFormDto,
  ): Promise<void> {
    try {
      const dto = await validatePayload(ChangeRolesDto, { roles: form.roles ?? [] });
      await this.members.changeRoles(session.user, id, dto, client);
    } catch (error) {
      return this.failed(response, error, form);
    }
    seeOther(response, back(form, 'roles_saved'));
  }

  /** «Исправить» an invitee (`PATCH /api/v1/pos/members/:id`). */
  @PageForm('/pos/admin', ':id/edit/invitee')
  async invitee(
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() form: InviteeFormDto,
  ): Promise<void> {
    let relinked: boolean;
    try {
      const before = await this.members.managed(session.user, id);
      const dto = await validatePayload(EditInviteeDto, {
        email: form.email,
        lastName: form.lastName,
        firstName: form.firstName,
        middleName: form.middleName ?? '',
        // An empty field keeps the СНИЛС: the form cannot show the number it does not keep.
        ...(form.snils?.trim() && { snils: form.snils }),
      });
      const after = await this.edits.editInvitee(session.user, id, dto, client);
      relinked = after.email !== before.membership.email;
    } catch (error) {
      return this.failed(response, error, form);
    }
    seeOther(response, back(form, relinked ? 'invitee_relinked' : 'invitee_saved'));
  }

  /** «Отправить повторно всем приглашённым». */
  @PageForm('/pos/admin', 'resend-all')
  async resendAll(
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Body() form: MemberListFormDto,
  ): Promise<void> {
    let result: { sent: number; skipped: number };
    try {
      result = await this.edits.resendAll(session.user, form.organizationId, client);
    } catch (error) {
      return this.failed(response, error, form);
    }
    seeOther(
      response,
      back(form, 'resent_all', { sent: String(result.sent), skipped: String(result.skipped) }),
    );
  }

  /** What went wrong, in Russian, with the way back to the list. */
  private failed(response: HttpResponse, error: unknown, form: MemberListFormDto): void {
    const { status, code, errors, notice } = this.context.refusal(error);
    const fields = Object.values(errors ?? {}).flatMap((list) => list.map((e) => e.message));
    this.pages.send(response, status, 'message', {
      title: 'Изменения не сохранены',
      paragraphs: fields.length > 0 ? fields : [notice.text],
      code,
      links: [{ href: back(form, ''), text: '← Пользователи' }],
    });
  }

  staleForm({ response, field }: StaleForm): void {
    const organizationId = field('organizationId');
    this.pages.send(response, 403, 'message', {
      title: 'Изменения не сохранены',
      paragraphs: [STALE_FORM],
      links: [
        {
          href: organizationId ? membersUrl(organizationId, 'members', {}) : '/pos/admin',
          text: '← Пользователи',
        },
      ],
    });
  }
}
