import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { Authenticated, Public } from '../common/auth-decorators.js';
import { FormPost } from '../rendering/form-post.js';
import {
  CurrentAuth,
  type AuthContext,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { GOSUSLUGI_PAGES } from '../gosuslugi/gosuslugi.texts.js';
import { GosuslugiInvitations } from '../gosuslugi/gosuslugi-invitations.service.js';
import { ProviderError } from '../gosuslugi/provider-client.js';
import { setCookie } from '../sessions/cookies.js';
import { recentlyAuthenticated } from '../sessions/session-rules.js';
import { type Session } from '../sessions/session.entity.js';
import { SessionService } from '../sessions/session.service.js';
import { Csrf } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { ConfirmationService, ConfirmDto, type MembershipSummary } from './confirmation.service.js';
import { AcceptInvitationFormDto } from './dto/accept-invitation-form.dto.js';
import { Invitations } from './invitations.service.js';
import { fullName } from './invitee.js';
import { PosAccess } from './pos-access.service.js';
import { PosRoute } from './pos-routes.js';
import { KIND_NAMES } from './pos.texts.js';
import { roleName } from './roles.js';

const REFUSED_PAGE = {
  used: 'invitationUsed',
  expired: 'invitationExpired',
  revoked: 'invitationRevoked',
  unknown: 'invitationUnknown',
} as const;

/** The invitation page a link leads to. */
function invitationLanding(token: string): string {
  return `/pos/invitations/${encodeURIComponent(token)}`;
}

@ApiTags('pos')
@Controller()
export class PosController implements StaleFormPage {
  constructor(
    private readonly confirmation: ConfirmationService,
    private readonly access: PosAccess,
    private readonly invitations: Invitations,
    private readonly gosuslugi: GosuslugiInvitations,
    private readonly pages: PageRenderer,
    private readonly csrf: Csrf,
    private readonly sessions: SessionService,
    private readonly config: AppConfig,
  ) {}

  @Get('api/v1/pos/me/confirmation')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Учётные записи в ЛКО; pending — ждут двух отметок первого входа' })
  summary(
    @CurrentAuth() auth: AuthContext,
  ): Promise<{ pending: MembershipSummary[]; memberships: MembershipSummary[] }> {
    return this.confirmation.summary(auth.user);
  }

  @Post('api/v1/pos/me/confirmation')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: '«Мною пройдено обучение» и «Личный кабинет организации готов к работе»',
  })
  confirm(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: ConfirmDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.confirmation.confirm(auth.user, dto, client);
  }

  @Get('api/v1/pos/backoffice/session')
  @PosRoute('backoffice')
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Бэк-офис: организации и роли пользователя' })
  async backoffice(@CurrentAuth() auth: AuthContext) {
    const memberships = await this.access.requireArea(auth.user, 'backoffice');
    return { userId: auth.user.id, memberships: memberships.map((m) => this.describe(m)) };
  }

  @Get('api/v1/pos/admin/session')
  @PosRoute('admin')
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Администратор ЛКО: организации, которыми управляет пользователь' })
  async admin(@CurrentAuth() auth: AuthContext) {
    const memberships = await this.access.requireArea(auth.user, 'admin');
    return {
      userId: auth.user.id,
      platformOperator: auth.user.isPlatformOperator,
      memberships: memberships.map((m) => this.describe(m)),
    };
  }

  private describe(m: Awaited<ReturnType<PosAccess['memberships']>>[number]) {
    return {
      organizationId: m.organization.id,
      organizationName: m.organization.name,
      lkoNumber: String(m.organization.lkoNumber),
      roles: m.roles,
      status: m.status,
    };
  }

  @Get('pos/invitations/:token')
  @Public()
  @ApiOperation({ summary: 'Страница приглашения: организация, роли, вход через Госуслуги' })
  async landing(
    @Param('token') token: string,
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
  ): Promise<void> {
    // The token never leaves the origin in a Referer; strict-origin, not no-referrer, because the
    // page's own acceptance form must carry an Origin (no-referrer would send Origin: null).
    response.header('Referrer-Policy', 'strict-origin');
    const found = await this.invitations.lookup(token);
    if (found.kind !== 'usable') return this.refused(response, found.kind);
    const membership = found.invitation.membership;
    const session = await this.sessions.fromCookie(request);
    const landing = `/pos/invitations/${encodeURIComponent(token)}`;
    this.pages.send(response, 200, 'invitation', {
      organization: membership.organization.name,
      kind: KIND_NAMES[membership.organization.kind],
      lkoNumber: String(membership.organization.lkoNumber),
      name: fullName(membership),
      snilsLast3: membership.snilsLast3,
      roles: membership.roles.map(roleName),
      acceptUrl: `${landing}/accept`,
      loginUrl: `/login?${new URLSearchParams({ returnTo: landing })}`,
      landing,
      csrf: this.csrf.token(request, response),
      // A signed-in person joins the account they have: linked accounts get it through the link,
      // others may accept into this account or log out first («Это не я»).
      signedIn: session && {
        login: session.user.login,
        name: fullName(session.user) || null,
        linked: await this.invitations.hasProviderLink(session.user),
      },
    });
  }

  @Get('pos/invitations/:token/accept')
  @Public()
  @ApiOperation({ summary: 'Страница приглашения (принять можно только формой с неё)' })
  acceptPage(@Param('token') token: string, @Res() response: HttpResponse): void {
    // A navigation (from another site, too) only shows the invitation: accepting is the person's click.
    response.header('Referrer-Policy', 'no-referrer');
    seeOther(response, `/pos/invitations/${encodeURIComponent(token)}`);
  }

  /** A stale invitation form accepts nothing: back to the invitation page, to choose again. */
  staleForm({ request, response }: StaleForm): void {
    response.header('Referrer-Policy', 'no-referrer');
    seeOther(response, invitationLanding(String(request.params.token)));
  }

  @Post('pos/invitations/:token/accept')
  @Public()
  @FormPost()
  @ApiOperation({
    summary:
      'Принять приглашение: форма страницы приглашения → Госуслуги (into=account — в текущую учётную запись)',
  })
  async accept(
    @Param('token') token: string,
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: AcceptInvitationFormDto,
  ): Promise<void> {
    response.header('Referrer-Policy', 'no-referrer');
    const landing = invitationLanding(token);
    const found = await this.invitations.lookup(token);
    if (found.kind !== 'usable') return this.refused(response, found.kind);
    const session = await this.sessions.fromCookie(request);
    const linked = session ? await this.invitations.hasProviderLink(session.user) : false;
    let into: Session | undefined;
    if (session && !linked) {
      // Signed in to an account without Госуслуги: the person chooses on the page, this one or «Это не я».
      if (form.into !== 'account') return seeOther(response, landing);
      // The same rule as linking: a password (or a Госуслуги login) within the last minutes.
      if (!recentlyAuthenticated(session))
        return seeOther(
          response,
          `/login?${new URLSearchParams({ reauth: '1', returnTo: landing })}`,
        );
      into = session;
    }
    try {
      const start = await this.gosuslugi.start(found.invitation.id, into);
      setCookie(response, this.config, 'gosuslugiTransaction', start.transactionCookie);
      seeOther(response, start.url.href);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      const page = GOSUSLUGI_PAGES.unavailable;
      this.pages.send(response, page.status, 'message', {
        title: page.title,
        paragraphs: page.paragraphs,
        code: error.code,
      });
    }
  }

  private refused(response: HttpResponse, kind: keyof typeof REFUSED_PAGE): void {
    const page = GOSUSLUGI_PAGES[REFUSED_PAGE[kind]];
    this.pages.send(response, page.status, 'message', {
      title: page.title,
      paragraphs: page.paragraphs,
    });
  }
}
