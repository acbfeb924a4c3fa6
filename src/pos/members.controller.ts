import { Body, Controller, HttpStatus, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiTags } from '@nestjs/swagger';
import { CurrentAuth, type AuthContext } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { ID } from '../common/ids.js';
import { AddMemberDto, ChangeRolesDto, MemberResponse } from './dto/member.dto.js';
import { EditInviteeDto, ResendAllResponse } from './dto/invitee-edit.dto.js';
import { MemberPage, memberListQuery } from './dto/member-list.dto.js';
import { MemberEdits } from './member-edits.service.js';
import { MemberList } from './member-list.service.js';
import { MembersService } from './members.service.js';
import { grantsAdmin, RecentAuthentication } from '../sessions/recent-authentication.guard.js';
import { AdminRoute } from './pos-routes.js';

/** Member management: the admin area («Администратор ЛКО»), within the caller's subtree. */
@ApiTags('pos: members')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('api/v1/pos')
export class MembersController {
  constructor(
    private readonly members: MembersService,
    private readonly memberList: MemberList,
    private readonly edits: MemberEdits,
  ) {}

  @AdminRoute(
    'get',
    'organizations/:id/members',
    'Учётные записи ЛКО: поиск, фильтры, порядок, страницы по 50 (курсор)',
  )
  async list(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Query('search') search: unknown,
    @Query('status') status: unknown,
    @Query('role') role: unknown,
    @Query('sort') sort: unknown,
    @Query('cursor') cursor: unknown,
    @Query('limit') limit: unknown,
    @Query('archived') archived: unknown,
  ): Promise<MemberPage> {
    const query = await memberListQuery({ search, status, role, sort, cursor, limit, archived });
    return this.memberList.page(auth.user, id, query);
  }

  @AdminRoute(
    'post',
    'organizations/:id/members/resend-invitations',
    '«Отправить повторно всем приглашённым»: адреса, исчерпавшие лимит за час, пропускаются',
    HttpStatus.OK,
  )
  resendAll(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<ResendAllResponse> {
    return this.edits.resendAll(auth.user, id, client);
  }

  @AdminRoute(
    'patch',
    'members/:id',
    'Исправить ФИО, СНИЛС, e-mail приглашённого (пока «Приглашен»); новый адрес получает новую ссылку, старая перестаёт действовать',
  )
  editInvitee(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Body() dto: EditInviteeDto,
    @Client() client: ClientInfo,
  ): Promise<MemberResponse> {
    return this.edits.editInvitee(auth.user, id, dto, client);
  }

  @RecentAuthentication(grantsAdmin)
  @AdminRoute(
    'post',
    'organizations/:id/members',
    '«Добавить пользователя»: приглашение уходит письмом',
    HttpStatus.CREATED,
  )
  add(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Body() dto: AddMemberDto,
    @Client() client: ClientInfo,
  ): Promise<MemberResponse> {
    return this.members.add(auth.user, id, dto, client);
  }

  @AdminRoute(
    'post',
    'members/:id/resend-invitation',
    'Отправить приглашение повторно (старая ссылка перестаёт действовать)',
    HttpStatus.OK,
  )
  resend(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<MemberResponse> {
    return this.members.resend(auth.user, id, client);
  }

  @RecentAuthentication(grantsAdmin)
  @AdminRoute('patch', 'members/:id/roles', 'Изменить роли')
  roles(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Body() dto: ChangeRolesDto,
    @Client() client: ClientInfo,
  ): Promise<MemberResponse> {
    return this.members.changeRoles(auth.user, id, dto, client);
  }

  @RecentAuthentication()
  @AdminRoute(
    'post',
    'members/:id/archive',
    'В архив: доступ прекращается сразу, адрес освобождается',
    HttpStatus.OK,
  )
  archive(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<MemberResponse> {
    return this.members.archive(auth.user, id, client);
  }

  @AdminRoute('post', 'members/:id/restore', 'Вернуть из архива', HttpStatus.OK)
  restore(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<MemberResponse> {
    return this.members.restore(auth.user, id, client);
  }
}
