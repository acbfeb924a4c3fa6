import { Body, Controller, Get, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import {
  type HttpRequest,
  type HttpResponse,
  seeOther,
  nodeRequest,
  nodeResponse,
} from '../common/http.js';
import { errors as oidcErrors, type InteractionResults } from 'oidc-provider';
import { Page, Public } from '../common/auth-decorators.js';
import { FormPost } from '../rendering/form-post.js';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { type User } from '../identity/user.entity.js';
import { AuthMethod, type Session } from '../sessions/session.entity.js';
import { amrOf } from '../sessions/second-factor-rules.js';
import { SessionService } from '../sessions/session.service.js';
import { GOSUSLUGI_REQUIRED } from './acr.js';
import { Csrf, CsrfFormDto } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { type Notice, STALE_FORM, STALE_PAGE } from '../rendering/page.texts.js';
import { ClientsService } from './clients.service.js';
import { ConsentsService } from './consents.service.js';
import { interactionPath } from './provider-paths.js';
import { ProviderService } from './provider.service.js';
import { describeAccess, PROVIDER_TEXTS } from './provider.texts.js';

/** Kept in the interaction when it sends the person to the form: a login must come after it. */
const LOGIN_REQUESTED_AT = 'identityLinkLoginRequestedAt';

type Details = Awaited<ReturnType<ProviderService['instance']['interactionDetails']>>;

/** What oidc-provider's consent prompt says is missing from the client's grant. */
interface MissingConsent {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** «Разрешить» or «Отказать» on the consent page. */
export class ConsentFormDto extends CsrfFormDto {
  @IsIn(['allow', 'deny'])
  decision!: 'allow' | 'deny';
}

/**
 * Whether the session proves what this authorization request asks: `prompt=login` wants a login
 * made after this interaction sent the person to the form, `max_age` one no older than it says.
 */
function freshEnough(session: Session, details: Details): boolean {
  const authenticatedAt = session.authenticatedAt.getTime();
  if (details.prompt.reasons.includes('login_prompt')) {
    const requestedAt = details.result?.[LOGIN_REQUESTED_AT];
    if (typeof requestedAt !== 'number' || authenticatedAt <= requestedAt) return false;
  }
  const maxAge = Number(details.params.max_age);
  if (Number.isInteger(maxAge) && Date.now() - authenticatedAt > maxAge * 1000) return false;
  return true;
}

function displayName(user: User): string {
  const name = [user.lastName, user.firstName, user.middleName].filter(Boolean).join(' ');
  return name ? `${name} (${user.login})` : user.login;
}

/**
 * The provider's interactions, answered by our pages: a login prompt is satisfied by our live
 * session (single sign-on, no form) or sends the browser to /login, which returns here; a consent
 * prompt (a client that is not first-party, asking for what the person has not allowed it yet)
 * shows our consent page, whose «Разрешить» is remembered per client (ConsentsService).
 */
@ApiExcludeController()
@Controller('oidc/interaction')
export class InteractionsController implements StaleFormPage {
  constructor(
    private readonly provider: ProviderService,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
    private readonly consents: ConsentsService,
    private readonly clients: ClientsService,
    private readonly csrf: Csrf,
  ) {}

  @Get(':uid')
  @Public()
  async resume(@Req() request: HttpRequest, @Res() response: HttpResponse): Promise<void> {
    const details = await this.details(request, response);
    if (!details) return;
    const session = await this.sessions.fromCookie(request);
    if (details.prompt.name !== 'login') {
      // Consent: only the person the provider's session belongs to answers it.
      if (!session || session.user.id !== details.session?.accountId)
        return this.refuse(response, HttpStatus.FORBIDDEN, 'account_mismatch');
      return this.showConsent(request, response, details, session, HttpStatus.OK);
    }
    const method = session?.authenticatedWith ?? AuthMethod.Password;
    // The client needs Госуслуги (acr.ts): a password session is not enough, and the login page
    // says so (a Госуслуги trip starts only from its button, never from a navigation).
    const gosuslugiOnly = details.prompt.reasons.includes(GOSUSLUGI_REQUIRED);
    const wrongMethod = gosuslugiOnly && method !== AuthMethod.Gosuslugi;
    if (!session || wrongMethod || !freshEnough(session, details)) {
      details.result = { ...details.result, [LOGIN_REQUESTED_AT]: Date.now() };
      await details.persist();
      const query = new URLSearchParams({
        returnTo: interactionPath(details.uid),
        ...(gosuslugiOnly && { notice: GOSUSLUGI_REQUIRED }),
      });
      return seeOther(response, `/login?${query.toString()}`);
    }
    await this.finish(request, response, {
      login: {
        accountId: session.user.id,
        acr: method,
        // RFC 8176: `otp` beside the method after a TOTP (or recovery) code.
        amr: amrOf({ method, secondFactor: session.secondFactor }),
        ts: Math.floor(session.authenticatedAt.getTime() / 1000),
        remember: true,
      },
    });
  }

  /** The consent page's «Разрешить» / «Отказать»: a grant remembered per client, or access_denied. */
  @Post(':uid')
  @Page()
  @FormPost()
  async decide(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: ConsentFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const details = await this.details(request, response);
    if (!details) return;
    // Answered already (a second tab, the back button): nothing left to decide here.
    if (details.prompt.name !== 'consent')
      return this.refuse(response, HttpStatus.BAD_REQUEST, 'interaction_expired');
    if (session.user.id !== details.session?.accountId)
      return this.refuse(response, HttpStatus.FORBIDDEN, 'account_mismatch');
    await this.finish(
      request,
      response,
      form.decision === 'allow'
        ? { consent: { grantId: await this.allow(details, client) } }
        : { error: 'access_denied', error_description: PROVIDER_TEXTS.consentRefused },
    );
  }

  /** A stale consent form: the page again with the notice; anything else, «Страница устарела». */
  async staleForm({ request, response, auth }: StaleForm): Promise<void> {
    const details = await this.provider.instance
      .interactionDetails(nodeRequest(request), nodeResponse(response))
      .catch(() => undefined);
    if (
      !auth ||
      details?.prompt.name !== 'consent' ||
      details.session?.accountId !== auth.facts.userId
    )
      return this.pages.send(response, HttpStatus.FORBIDDEN, 'message', STALE_PAGE);
    await this.showConsent(request, response, details, auth.session, HttpStatus.FORBIDDEN, {
      kind: 'error',
      text: STALE_FORM,
    });
  }

  /** The interaction this browser is in, or null after answering that it has expired. */
  private async details(request: HttpRequest, response: HttpResponse): Promise<Details | null> {
    try {
      return await this.provider.instance.interactionDetails(
        nodeRequest(request),
        nodeResponse(response),
      );
    } catch (error) {
      if (!(error instanceof oidcErrors.SessionNotFound)) throw error;
      this.refuse(response, HttpStatus.BAD_REQUEST, 'interaction_expired');
      return null;
    }
  }

  private refuse(
    response: HttpResponse,
    status: HttpStatus,
    code: 'interaction_expired' | 'account_mismatch',
  ) {
    this.pages.send(response, status, 'message', {
      title: PROVIDER_TEXTS.errorTitle,
      paragraphs: [
        code === 'interaction_expired'
          ? PROVIDER_TEXTS.interactionExpired
          : PROVIDER_TEXTS.otherAccount,
      ],
      code,
    });
  }

  private async showConsent(
    request: HttpRequest,
    response: HttpResponse,
    details: Details,
    session: Session,
    status: HttpStatus,
    notice?: Notice,
  ): Promise<void> {
    const clientId = String(details.params.client_id);
    const missing = details.prompt.details as MissingConsent;
    const scope = details.params.scope;
    const requested = typeof scope === 'string' ? scope.split(' ') : [];
    const before = await this.consents.remembered(session.user.id, clientId);
    // What the application receives once allowed: what is asked now and what it had before.
    const scopes = requested.filter(
      (scope) => missing.missingOIDCScope?.includes(scope) || before?.scopes.includes(scope),
    );
    this.pages.send(response, status, 'consent', {
      title: PROVIDER_TEXTS.consentTitle,
      uid: details.uid,
      csrf: this.csrf.token(request, response),
      clientName: (await this.clients.nameOf(clientId)) ?? clientId,
      who: displayName(session.user),
      receives: describeAccess(scopes, missing.missingOIDCClaims ?? []),
      notice,
    });
  }

  /** «Разрешить»: the grant gets what the prompt said was missing, and the consent is remembered. */
  private async allow(details: Details, client: ClientInfo): Promise<string> {
    const { Grant } = this.provider.instance;
    const accountId = details.session!.accountId;
    const clientId = String(details.params.client_id);
    const existing = details.grantId ? await Grant.find(details.grantId) : undefined;
    const grant = existing ?? new Grant({ accountId, clientId });
    const missing = details.prompt.details as MissingConsent;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await this.consents.give(
      accountId,
      clientId,
      { scopes: grant.getOIDCScope().split(' ').filter(Boolean), claims: grant.getOIDCClaims() },
      client,
    );
    return grantId;
  }

  /** Ends the interaction and sends the browser on to oidc-provider, which answers the client. */
  private async finish(
    request: HttpRequest,
    response: HttpResponse,
    result: InteractionResults,
  ): Promise<void> {
    const resume = await this.provider.instance.interactionResult(
      nodeRequest(request),
      nodeResponse(response),
      result,
      {
        mergeWithLastSubmission: false,
      },
    );
    // Not a 303: after a form's POST (our login or consent page), browsers hold every redirect of
    // that chain to the form's CSP `form-action 'self'`, and the last one goes to the application.
    // A page that moves on by itself starts a navigation of its own (the link is for the rare
    // browser that ignores Refresh).
    response.header('Refresh', `0;url=${resume}`);
    this.pages.send(response, HttpStatus.OK, 'message', {
      title: PROVIDER_TEXTS.returningTitle,
      paragraphs: [],
      links: [{ href: resume, text: PROVIDER_TEXTS.continue }],
    });
  }
}
