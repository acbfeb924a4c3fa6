import { Controller, Header, HttpStatus, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiTags } from '@nestjs/swagger';
import { CurrentAuth, type AuthContext } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { ID } from '../common/ids.js';
import { EndedSessionsResponse, SessionResponse } from '../sessions/dto/session.response.js';
import { MemberSessions } from './member-sessions.service.js';
import { AdminRoute } from './pos-routes.js';

/** The sessions of a member's person: the admin area («Администратор ЛКО»), within the subtree. */
@ApiTags('pos: members')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('api/v1/pos/members/:id/sessions')
export class MemberSessionsController {
  constructor(private readonly memberSessions: MemberSessions) {}

  @AdminRoute(
    'get',
    '',
    'Активные сеансы пользователя учётной записи: сколько и когда; ip и userAgent — null (их видит только сам пользователь и, с записью в журнал, оператор платформы)',
  )
  @Header('Cache-Control', 'no-store')
  list(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<SessionResponse[]> {
    return this.memberSessions.list(auth.user, auth.session.id, id, client);
  }

  @AdminRoute('delete', '', 'Завершить все сеансы пользователя учётной записи', HttpStatus.OK)
  endAll(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<EndedSessionsResponse> {
    return this.memberSessions.endAll(auth.user, id, client);
  }
}
