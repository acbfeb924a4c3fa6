import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentAuth, type AuthContext } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { EndedSessionsResponse, SessionResponse } from '../sessions/dto/session.response.js';
import { MemberSessions } from './member-sessions.service.js';
import { PosRoute } from './pos-area.guard.js';

const ID = new ParseUUIDPipe({ version: '4' });

/** The sessions of a member's person: the admin area («Администратор ЛКО»), within the subtree. */
@ApiTags('pos: members')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('api/v1/pos/members/:id/sessions')
export class MemberSessionsController {
  constructor(private readonly memberSessions: MemberSessions) {}

  @Get()
  @PosRoute('admin')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary:
      'Активные сеансы пользователя учётной записи: сколько и когда; ip и userAgent — null (их видит только сам пользователь и, с записью в журнал, оператор платформы)',
  })
  list(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<SessionResponse[]> {
    return this.memberSessions.list(auth.user, auth.session.id, id, client);
  }

  @Delete()
  @PosRoute('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Завершить все сеансы пользователя учётной записи' })
  endAll(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<EndedSessionsResponse> {
    return this.memberSessions.endAll(auth.user, id, client);
  }
}
