import { Controller, Delete, Get, Header, HttpCode, HttpStatus, Param, Res } from '@nestjs/common';
import { ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type HttpResponse } from '../common/http.js';
import { Authenticated } from '../common/auth-decorators.js';
import { CurrentAuth, type AuthContext } from './auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { EndedSessionsResponse, SessionResponse } from './dto/session.response.js';
import { clearSessionCookie } from './session-cookie.js';
import { SessionManagement } from './session-management.service.js';

/**
 * «Активные сеансы» for API clients. Only the browser session (the cookie) may use these routes:
 * access tokens travel to downstream applications, and none of them needs the person's devices
 * and addresses or the power to sign the person out everywhere.
 */
@ApiTags('sessions')
@ApiCookieAuth()
@Controller('api/v1/me/sessions')
export class SessionManagementController {
  constructor(
    private readonly sessions: SessionManagement,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Authenticated({ via: 'cookie' })
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Активные сеансы (current — текущий)' })
  list(@CurrentAuth() auth: AuthContext): Promise<SessionResponse[]> {
    const { user, session } = auth;
    return this.sessions.list(user, session.id);
  }

  @Delete()
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Завершить все остальные сеансы (текущий остаётся)' })
  async endOthers(
    @CurrentAuth() auth: AuthContext,
    @Client() client: ClientInfo,
  ): Promise<EndedSessionsResponse> {
    const { session } = auth;
    return { ended: await this.sessions.endOthers(session, client) };
  }

  @Delete(':id')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Завершить сеанс (404 — нет такого сеанса среди ваших)' })
  async end(
    @CurrentAuth() auth: AuthContext,
    @Param('id') id: string,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<void> {
    const { session } = auth;
    const { endedCurrent } = await this.sessions.endOwn(session, id, client);
    if (endedCurrent) clearSessionCookie(response, this.config);
  }
}
