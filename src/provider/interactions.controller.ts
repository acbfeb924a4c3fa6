import { Controller, Get, HttpStatus, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type Request, type Response } from 'express';
import { errors as oidcErrors, type InteractionResults } from 'oidc-provider';
import { Public } from '../common/auth-decorators.js';
import { PageRenderer } from '../web/page-renderer.js';
import { AuthMethod, type Session } from '../sessions/session.entity.js';
import { SessionService } from '../sessions/session.service.js';
import { GOSUSLUGI_REQUIRED } from './acr.js';
import { interactionPath } from './provider-paths.js';
import { OidcProviderService } from './provider.service.js';
import { PROVIDER_TEXTS } from './provider.texts.js';

/** Kept in the interaction when it sends the person to the form: a login must come after it. */
const LOGIN_REQUESTED_AT = 'identityLinkLoginRequestedAt';

type Details = Awaited<ReturnType<OidcProviderService['instance']['interactionDetails']>>;

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

/**
 * The provider's interactions, answered by our pages: a login prompt is satisfied by our live
 * session (single sign-on, no form) or sends the browser to /login, which returns here; consent
 * is given by first-party clients' grants (OidcProviderService) and refused for the others.
 */
@ApiExcludeController()
@Controller('oidc/interaction')
export class InteractionsController {
  constructor(
    private readonly provider: OidcProviderService,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
  ) {}

  @Get(':uid')
  @Public()
  async resume(@Req() request: Request, @Res() response: Response): Promise<void> {
    const provider = this.provider.instance;
    let details: Details;
    try {
      details = await provider.interactionDetails(request, response);
    } catch (error) {
      if (!(error instanceof oidcErrors.SessionNotFound)) throw error;
      return this.pages.send(response, HttpStatus.BAD_REQUEST, 'message', {
        title: PROVIDER_TEXTS.errorTitle,
        paragraphs: [PROVIDER_TEXTS.interactionExpired],
        code: 'interaction_expired',
      });
    }
    let result: InteractionResults;
    if (details.prompt.name === 'login') {
      const session = await this.sessions.fromCookie(request);
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
        return response.redirect(303, `/login?${query.toString()}`);
      }
      result = {
        login: {
          accountId: session.user.id,
          acr: method,
          amr: [method],
          ts: Math.floor(session.authenticatedAt.getTime() / 1000),
          remember: true,
        },
      };
    } else {
      // Consent: only first-party clients pass (their grant is made without a prompt).
      result = { error: 'access_denied', error_description: PROVIDER_TEXTS.consentUnsupported };
    }
    const resume = await provider.interactionResult(request, response, result, {
      mergeWithLastSubmission: false,
    });
    // Not a 303: after our login form's POST, browsers hold every redirect of that chain to the
    // form's CSP `form-action 'self'`, and the last one goes to the application. A page that
    // moves on by itself starts a navigation of its own (the link is for the rare browser that
    // ignores Refresh).
    response.setHeader('Refresh', `0;url=${resume}`);
    this.pages.send(response, HttpStatus.OK, 'message', {
      title: PROVIDER_TEXTS.returningTitle,
      paragraphs: [],
      links: [{ href: resume, text: PROVIDER_TEXTS.continue }],
    });
  }
}
