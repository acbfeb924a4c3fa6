import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Request, type Response } from 'express';
import { lockAccount } from '../identity/account-lock.js';
import { AuditService } from '../audit/audit.service.js';
import { AppConfig } from '../config/app-config.js';
import { type ClientInfo } from '../common/client-info.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { IdentityLinks, type VerifiedIdentity } from '../identity/identity-links.service.js';
import { takeProviderNames, User, UserStatus } from '../identity/user.entity.js';
import { LoginSessions } from '../sessions/login-sessions.service.js';
import { recentlyAuthenticated } from '../sessions/session-rules.js';
import { AuthMethod, Session } from '../sessions/session.entity.js';
import { SessionService } from '../sessions/session.service.js';
import {
  type CallbackOutcome,
  DEFAULT_RETURN,
  type LinkStart,
  refused,
  sessionEnded,
  startingSession,
} from './callback-outcome.js';
import { GosuslugiLinks } from './gosuslugi-links.service.js';
import {
  INVITATION_ACCEPTANCE,
  type InvitationAcceptancePort,
  type RefusalReason,
} from './invitation-acceptance.js';
import { type GosuslugiPage } from './gosuslugi.texts.js';
import { LoginPurpose, type LoginTransaction } from './login-transaction.entity.js';
import { LoginTransactions } from './login-transactions.service.js';
import {
  IDENTITY_PROVIDER_CLIENT,
  type IdentityProviderClient,
  LOGGED_OUT_PATH,
  ProviderError,
} from './provider-client.js';

export type { CallbackOutcome, LinkStart } from './callback-outcome.js';

const INVITATION_PAGES = {
  used: 'invitationUsed',
  expired: 'invitationExpired',
  revoked: 'invitationRevoked',
  unknown: 'invitationUnknown',
  account_unavailable: 'accountUnavailable',
  already_member: 'alreadyMember',
  profile_mismatch: 'invitationMismatch',
  untrusted: 'invitationUntrusted',
  snils_unavailable: 'invitationSnilsUnavailable',
  email_has_account: 'invitationHasAccount',
  identity_linked_elsewhere: 'linkedElsewhere',
  already_linked: 'alreadyLinked',
  session_ended: 'sessionEnded',
  retry: 'invitationRetry',
} as const satisfies Record<RefusalReason, GosuslugiPage>;

/**
 * The round trip to Госуслуги: the three flows through it — login, link and invitation acceptance
 * — share one redirect URI; the server-side transaction says which one a callback finishes. What
 * happens to the account's link after the round trip is GosuslugiLinks'.
 */
@Injectable()
export class GosuslugiService {
  private readonly logger = new Logger('Gosuslugi');

  constructor(
    private readonly em: EntityManager,
    private readonly transactions: LoginTransactions,
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly links: IdentityLinks,
    private readonly linking: GosuslugiLinks,
    private readonly loginSessions: LoginSessions,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    @Inject(INVITATION_ACCEPTANCE) private readonly invitations: InvitationAcceptancePort,
    private readonly config: AppConfig,
  ) {}

  /**
   * Back from the provider's logout on the way to a fresh authorization (ЕСИА re-authentication):
   * on to the authorization of the round trip this browser has pending, or null when none is.
   */
  async continueAfterLogout(request: Request): Promise<URL | null> {
    // Only the round trips that re-authenticate go through the provider's logout; a Login never does.
    const transaction = await this.transactions.peek(request, [
      LoginPurpose.Link,
      LoginPurpose.Invite,
    ]);
    return transaction ? this.provider.authorizationUrl(transaction) : null;
  }

  /**
   * «Выйти» from a session opened through Госуслуги, or one whose browser came back from Госуслуги
   * with a link, ends the provider's session too (a shared school computer must not hand the next
   * person the previous one's Госуслуги), then comes back to the login page. Null for other
   * sessions, or when the provider has no logout.
   */
  providerLogoutUrl(session: Session): Promise<URL | null> {
    if (session.method !== AuthMethod.Gosuslugi && !session.providerSignedInAt)
      return Promise.resolve(null);
    return this.provider.logoutUrl(`${this.config.publicUrl}${LOGGED_OUT_PATH}`);
  }

  /**
   * From the invitation page: the token itself stays out of the transaction, its invitation id
   * goes in; with `into`, the signed-in session whose account the person chose to accept into.
   */
  async startInvite(response: Response, invitationId: string, into?: Session): Promise<URL> {
    const transaction = await this.transactions.begin(response, LoginPurpose.Invite, {
      invitationId,
      returnTo: '/pos',
      ...(into && { userId: into.user.id, sessionId: into.id }),
    });
    // The invitation binds whoever comes back: never reuse a Госуслуги session left in the browser.
    return this.provider.authorizationUrl(transaction, { reauthenticate: true });
  }

  async startLogin(response: Response, returnTo: string | null): Promise<URL> {
    const transaction = await this.transactions.begin(response, LoginPurpose.Login, { returnTo });
    return this.provider.authorizationUrl(transaction);
  }

  async startLink(response: Response, session: Session | null): Promise<LinkStart> {
    if (!session) return { kind: 'login_required', reauthenticate: false };
    if (!recentlyAuthenticated(session)) {
      return { kind: 'login_required', reauthenticate: true };
    }
    const transaction = await this.transactions.begin(response, LoginPurpose.Link, {
      userId: session.user.id,
      sessionId: session.id,
    });
    // A link binds whoever comes back: ask Госуслуги to check the person, not reuse a left-over session.
    return {
      kind: 'redirect',
      url: await this.provider.authorizationUrl(transaction, { reauthenticate: true }),
    };
  }

  /**
   * Consumes the browser's transaction first; then lets the provider client check the response
   * (state, iss, code, PKCE, ID token signature, issuer, audience, expiry, nonce); only then acts.
   */
  async callback(
    request: Request,
    response: Response,
    callbackUrl: URL,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    const transaction = await this.transactions.consume(request, response, request.query.state, [
      LoginPurpose.Login,
      LoginPurpose.Link,
      LoginPurpose.Invite,
    ]);
    if (!transaction) return refused(this.audit, 'invalidTransaction', client, 'no_transaction');
    let identity: VerifiedIdentity;
    try {
      identity = await this.provider.complete(callbackUrl, transaction);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn(
        { err: error.cause, providerCode: error.code },
        `Госуслуги response refused: ${error.code}`,
      );
      return refused(this.audit, error.kind, client, error.code, undefined, error.detail);
    }
    switch (transaction.purpose) {
      case LoginPurpose.Login:
        return this.login(identity, transaction, request, client);
      case LoginPurpose.Link:
        return this.linking.offer(identity, transaction, request, response, client);
      case LoginPurpose.Invite:
        return this.acceptInvitation(identity, transaction, request, client);
      case LoginPurpose.LinkConfirm:
        // consume() above accepts only callback purposes.
        return refused(this.audit, 'invalidTransaction', client, 'no_transaction');
    }
  }

  private async login(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    request: Request,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    const previous = await this.sessions.fromCookie(request);
    const outcome = await this.em.transactional(async (em): Promise<CallbackOutcome> => {
      const found = await this.links.find(em, identity.issuer, identity.subject);
      if (!found) return { kind: 'refused', page: 'notLinked' };
      // The account lock, as an unlink takes it, then the link again: an unlink that committed
      // while this waited leaves nothing to log in with (no session through a removed link).
      const user = await lockAccount(em, found.user.id);
      const linked = await em.findOne(FederatedIdentity, found.id, { refresh: true });
      if (linked?.user.id !== user.id) return { kind: 'refused', page: 'notLinked' };
      if (user.status !== UserStatus.Active) return { kind: 'refused', page: 'accountUnavailable' };
      linked.refreshFrom(identity);
      linked.lastLoginAt = new Date();
      takeProviderNames(user, identity.claims);
      const login = this.loginSessions.openSession(
        em,
        user,
        AuthMethod.Gosuslugi,
        client,
        previous,
      );
      await em.flush();
      await this.loginSessions.replacedEnded(em, previous, login.session);
      return { kind: 'logged_in', login, returnTo: transaction.returnTo ?? DEFAULT_RETURN };
    });
    if (outcome.kind === 'refused') {
      await this.audit.write({
        type: 'login.failed',
        client,
        details: { reason: outcome.page, method: AuthMethod.Gosuslugi },
      });
    }
    return outcome;
  }

  /** The invitation is consumed and the person logged in; the two first-login confirmations follow on /pos. */
  private async acceptInvitation(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    request: Request,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    if (!transaction.invitationId)
      return refused(this.audit, 'invalidTransaction', client, 'no_invitation');
    // Accepting into the signed-in account: the browser must still hold the session that chose it.
    const into = transaction.sessionId
      ? await startingSession(this.sessions, request, transaction)
      : undefined;
    if (into === null) return sessionEnded(this.audit, client, transaction);
    const outcome = await this.invitations.accept(
      transaction.invitationId,
      identity,
      client,
      into && { userId: into.user.id, sessionId: into.id },
    );
    if (outcome.kind === 'refused') {
      await this.audit.write({
        type: 'pos.invitation.refused',
        client,
        details: { invitationId: transaction.invitationId, reason: outcome.reason },
      });
      const detail =
        outcome.reason === 'profile_mismatch' && outcome.organization
          ? `Приглашение в «${outcome.organization}» выписано на другого человека. Обратитесь к администратору этой организации.`
          : outcome.reason === 'email_has_account' && outcome.email
            ? `Адрес ${outcome.email} уже подтверждён в другой учётной записи.`
            : undefined;
      return {
        kind: 'refused',
        page: INVITATION_PAGES[outcome.reason],
        code: `invitation_${outcome.reason}`,
        detail,
      };
    }
    const previous = await this.sessions.fromCookie(request);
    const login = await this.em.transactional(async (em) => {
      const user = await em.findOneOrFail(User, outcome.user.id);
      const created = this.loginSessions.openSession(
        em,
        user,
        AuthMethod.Gosuslugi,
        client,
        previous,
      );
      await em.flush();
      await this.loginSessions.replacedEnded(em, previous, created.session);
      return created;
    });
    return { kind: 'logged_in', login, returnTo: transaction.returnTo ?? '/pos' };
  }
}
