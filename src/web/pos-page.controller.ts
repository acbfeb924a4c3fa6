import { Body, Controller, Get, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { type Request, type Response } from 'express';
import { Public } from '../common/auth-decorators.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { ConfirmationService } from '../pos/confirmation.service.js';
import { STATUS_NAMES } from '../pos/pos.texts.js';
import { SessionService } from '../sessions/session.service.js';
import { Csrf } from './csrf.js';
import { PageRenderer } from './page-renderer.js';
import { PageSessions } from './page-session.js';
import { STALE_FORM } from './web.texts.js';
import { type Session } from '../sessions/session.entity.js';

/** The first-login dialog form: an unticked checkbox is simply absent. */
export class ConfirmationFormDto {
  @IsString()
  @MaxLength(100)
  csrf!: string;

  @IsUUID('4')
  membershipId!: string;

  @IsOptional()
  @IsIn(['on'])
  trainingCompleted?: 'on';

  @IsOptional()
  @IsIn(['on'])
  organizationReady?: 'on';
}

/** /pos: the person's organisation accounts and, until confirmed, the two first-login boxes. */
@ApiExcludeController()
@Controller('pos')
export class PosPageController {
  constructor(
    private readonly confirmation: ConfirmationService,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
    private readonly csrf: Csrf,
    private readonly pageSessions: PageSessions,
  ) {}

  @Get()
  @Public()
  async page(@Req() request: Request, @Res() response: Response): Promise<void> {
    const session = await this.sessions.fromCookie(request);
    if (!session) return response.redirect(303, '/login?returnTo=%2Fpos');
    await this.render(request, response, session, 200);
  }

  @Post('confirmation')
  @Public()
  async confirm(
    @Req() request: Request,
    @Res() response: Response,
    @Body() form: ConfirmationFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const fresh = this.csrf.checkForm(request, form.csrf);
    const session = await this.sessions.fromCookie(request);
    if (!session) return response.redirect(303, '/login?returnTo=%2Fpos');
    if (!fresh) return this.render(request, response, session, 403, STALE_FORM);
    try {
      await this.confirmation.confirm(
        session.user,
        {
          membershipId: form.membershipId,
          trainingCompleted: form.trainingCompleted === 'on',
          organizationReady: form.organizationReady === 'on',
        },
        client,
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.render(request, response, session, error.status, error.message);
    }
    response.redirect(303, '/pos');
  }

  private async render(
    request: Request,
    response: Response,
    session: Session,
    status: number,
    error?: string,
  ): Promise<void> {
    const summary = await this.confirmation.summary(session.user);
    this.pages.send(response, status, 'pos', {
      nav: await this.pageSessions.nav(request, response, session, 'pos'),
      csrf: this.csrf.token(request, response),
      pending: summary.pending,
      memberships: summary.memberships.map((m) => ({ ...m, statusName: STATUS_NAMES[m.status] })),
      error,
    });
  }
}
