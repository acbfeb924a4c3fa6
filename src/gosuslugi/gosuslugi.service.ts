import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Request, type Response } from 'express';
import { lockAccount } from '../accounts/account-lock.js';
import { LinkErrors as AccountLinkErrors } from '../accounts/account-links.texts.js';
import { AuditService } from '../audit/audit.service.js';
import { normalizeEmail } from '../identity/normalize.js';
import { AppConfig } from '../config/app-config.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError, Errors } from '../common/errors.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import {
  IdentityLinks,
  LinkErrors,
  type VerifiedIdentity,
} from '../identity/identity-links.service.js';
import { takeProviderNames, User, UserStatus } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { Invitations, type RefusalReason } from '../pos/invitations.service.js';
import { AuthService, type LoginResult } from '../sessions/auth.service.js';
import { emailChangeRefusal, recentlyAuthenticated } from '../sessions/session-rules.js';
import { AuthMethod, Session } from '../sessions/session.entity.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import { SessionService } from '../sessions/session.service.js';
import { GOSUSLUGI_PROVIDER, GosuslugiErrors, type GosuslugiPage } from './gosuslugi.texts.js';
import { LoginPurpose, type LoginTransaction } from './login-transaction.entity.js';
import { LoginTransactions } from './login-transactions.service.js';
import {
  IDENTITY_PROVIDER_CLIENT,
  type IdentityProviderClient,
  LOGGED_OUT_PATH,
  ProviderError,
} from './provider-client.js';

export type CallbackOutcome =
  | { kind: 'logged_in'; login: LoginResult; returnTo: string }
  | { kind: 'linked'; returnTo: string }
  | { kind: 'confirm_link' }
  | { kind: 'refused'; page: GosuslugiPage; code?: string; detail?: string };

export type LinkStart =
  { kind: 'redirect'; url: URL } | { kind: 'login_required'; reauthenticate: boolean };

const DEFAULT_RETURN = '/account';

/**
 * The e-mail Госуслуги marks verified, when the account has no e-mail of its own: the only case
 * in which a link may also give the account its address (and only if the person ticks it).
 */
function adoptableEmail(user: User, identity: VerifiedIdentity): string | null {
  const email = identity.claims.email;
  return email && user.email === null ? normalizeEmail(email) : null;
}

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
 * The three flows through Госуслуги — login, link, and (with the ПОС issue) invitation
 * acceptance — share one redirect URI; the server-side transaction says which one a callback
 * finishes.
 */
@Injectable()
export class GosuslugiService {
  private readonly logger = new Logger('Gosuslugi');

  constructor(
    private readonly em: EntityManager,
    private readonly transactions: LoginTransactions,
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly links: IdentityLinks,
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly invitations: Invitations,
    private readonly notices: AccountNotices,
    private readonly sessionManagement: SessionManagement,
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
    if (!transaction) return this.refuse('invalidTransaction', client, 'no_transaction');
    let identity: VerifiedIdentity;
    try {
      identity = await this.provider.complete(callbackUrl, transaction);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn(
        { err: error.cause, providerCode: error.code },
        `Госуслуги response refused: ${error.code}`,
      );
      return this.refuse(error.kind, client, error.code, undefined, error.detail);
    }
    switch (transaction.purpose) {
      case LoginPurpose.Login:
        return this.login(identity, transaction, request, client);
      case LoginPurpose.Link:
        return this.link(identity, transaction, request, response, client);
      case LoginPurpose.Invite:
        return this.acceptInvitation(identity, transaction, request, client);
      case LoginPurpose.LinkConfirm:
        // consume() above accepts only callback purposes.
        return this.refuse('invalidTransaction', client, 'no_transaction');
    }
  }

  private async refuse(
    page: GosuslugiPage,
    client: ClientInfo,
    code: string,
    userId?: string,
    detail?: string,
  ): Promise<CallbackOutcome> {
    await this.audit.write({
      type: 'gosuslugi.callback_rejected',
      targetUserId: userId ?? null,
      client,
      details: { reason: code },
    });
    return { kind: 'refused', page, code, detail };
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
      const login = this.auth.openSession(em, user, AuthMethod.Gosuslugi, client, previous);
      await em.flush();
      await this.auth.replacedEnded(em, previous, login.session);
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

  /**
   * Back from Госуслуги with an identity for the signed-in account: nothing is linked yet. The
   * person sees whose Госуслуги profile came back and confirms (a same-origin POST), so a link
   * always follows an explicit action, even when a Госуслуги session was left in the browser.
   */
  private async link(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    request: Request,
    response: Response,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    const session = await this.linkingSession(request, transaction);
    if (!session) return this.sessionEnded(client, transaction);
    // The provider now holds a session in this browser, whatever becomes of the link.
    await this.em.nativeUpdate(Session, { id: session.id }, { providerSignedInAt: new Date() });
    try {
      await this.links.assertLinkable(this.em, session.user, identity);
    } catch (error) {
      return this.linkRefused(error, session.user, client);
    }
    await this.transactions.begin(response, LoginPurpose.LinkConfirm, {
      userId: session.user.id,
      sessionId: session.id,
      identity,
    });
    return { kind: 'confirm_link' };
  }

  /** The browser must still hold the session that asked for the link, recently authenticated. */
  private async linkingSession(
    request: Request,
    transaction: LoginTransaction,
  ): Promise<Session | null> {
    const session = await this.sessions.fromCookie(request);
    if (!session || session.id !== transaction.sessionId || session.user.id !== transaction.userId)
      return null;
    return session;
  }

  private sessionEnded(
    client: ClientInfo,
    transaction: LoginTransaction,
  ): Promise<CallbackOutcome> {
    return this.refuse('sessionEnded', client, 'session_mismatch', transaction.userId ?? undefined);
  }

  private async linkRefused(
    error: unknown,
    user: User,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    if (!(error instanceof DomainError)) throw error;
    await this.audit.write({
      type: 'gosuslugi.link_refused',
      actorUserId: user.id,
      targetUserId: user.id,
      client,
      details: { reason: error.code },
    });
    const page: GosuslugiPage =
      error.code === 'already_linked'
        ? 'alreadyLinked'
        : error.code === 'email_taken'
          ? 'emailTaken'
          : 'linkedElsewhere';
    return { kind: 'refused', page, code: error.code };
  }

  /** The invitation is consumed and the person logged in; the two first-login confirmations follow on /pos. */
  private async acceptInvitation(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    request: Request,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    if (!transaction.invitationId)
      return this.refuse('invalidTransaction', client, 'no_invitation');
    // Accepting into the signed-in account: the browser must still hold the session that chose it.
    const into = transaction.sessionId
      ? await this.linkingSession(request, transaction)
      : undefined;
    if (into === null) return this.sessionEnded(client, transaction);
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
      const created = this.auth.openSession(em, user, AuthMethod.Gosuslugi, client, previous);
      await em.flush();
      await this.auth.replacedEnded(em, previous, created.session);
      return created;
    });
    return { kind: 'logged_in', login, returnTo: transaction.returnTo ?? '/pos' };
  }

  /** What the confirmation page shows, or null when there is nothing to confirm. */
  async pendingLink(request: Request): Promise<{
    state: string;
    identity: VerifiedIdentity;
    login: string;
    offerEmail: string | null;
  } | null> {
    const transaction = await this.transactions.peek(request, [LoginPurpose.LinkConfirm]);
    if (!transaction?.identity) return null;
    const session = await this.linkingSession(request, transaction);
    if (!session) return null;
    return {
      state: transaction.state,
      identity: transaction.identity,
      login: session.user.login,
      offerEmail: adoptableEmail(session.user, transaction.identity),
    };
  }

  /** The confirming POST: consumes the pending link and makes it, if the session is still fresh. */
  async confirmLink(
    request: Request,
    response: Response,
    state: unknown,
    client: ClientInfo,
    useEmail = false,
  ): Promise<CallbackOutcome | LinkStart> {
    const transaction = await this.transactions.consume(request, response, state, [
      LoginPurpose.LinkConfirm,
    ]);
    if (!transaction?.identity) return this.refuse('invalidTransaction', client, 'no_pending_link');
    const session = await this.linkingSession(request, transaction);
    if (!session) return this.sessionEnded(client, transaction);
    if (!recentlyAuthenticated(session)) return { kind: 'login_required', reauthenticate: true };
    const identity = transaction.identity;
    const user = session.user;
    // A new link would let a later Госуслуги login move the verified e-mail: one made on the word
    // of a Госуслуги login that may not move it (an unlinked and relinked older profile) asks for
    // the password first.
    const identities = await this.em.find(FederatedIdentity, { user });
    if (emailChangeRefusal(session, user, identities) !== null)
      return { kind: 'login_required', reauthenticate: true };
    try {
      await this.em.transactional(async (em) => {
        // The account first (the order every account change takes); the session must still be live.
        const account = await lockAccount(em, user.id, session);
        // Another tab confirming the same link got the lock first: it linked, audited and told.
        const before = await em.count(FederatedIdentity, {
          user: account,
          issuer: identity.issuer,
          subject: identity.subject,
        });
        const linked = await this.links.link(em, account, identity);
        if (before > 0) {
          await em.flush();
          return;
        }
        takeProviderNames(account, identity.claims);
        const email = useEmail ? adoptableEmail(account, identity) : null;
        if (email) {
          // Госуслуги vouched for the address and the person, with a recent password, chose it.
          account.email = email;
          // Proved by this very link, which therefore may move it later like a later link.
          account.emailVerifiedAt = linked.linkedAt;
          if (account.pendingEmail === email) account.pendingEmail = null;
          try {
            await em.flush();
          } catch (error) {
            // Another account's verified e-mail: the transaction ends, nothing of the link is kept.
            if (error instanceof UniqueConstraintViolationException)
              throw AccountLinkErrors.emailTaken();
            throw error;
          }
          this.audit.record(
            {
              type: 'email.verified',
              actorUserId: user.id,
              targetUserId: user.id,
              client,
              details: { source: 'gosuslugi' },
            },
            em,
          );
        }
        this.audit.record(
          {
            type: 'gosuslugi.linked',
            actorUserId: user.id,
            targetUserId: user.id,
            client,
            details: { identityId: linked.id, issuer: identity.issuer },
          },
          em,
        );
        const { lastName, firstName, middleName } = identity.claims;
        const name = [lastName, firstName, middleName].filter(Boolean).join(' ') || null;
        await this.notices.tell(em, account, { kind: 'gosuslugi-linked', name }, client);
        await em.flush();
      });
    } catch (error) {
      // Ended meanwhile (a logout, a password reset, a re-authentication elsewhere): nothing linked.
      if (error instanceof DomainError && error.code === 'unauthenticated')
        return this.sessionEnded(client, transaction);
      return this.linkRefused(error, user, client);
    }
    return { kind: 'linked', returnTo: DEFAULT_RETURN };
  }

  /**
   * «Обновить данные из Госуслуг» with offline access: the stored refresh token is used (single
   * use at ЕСИА) and replaced; a token ЕСИА refuses is forgotten, unless a concurrent refresh has
   * already replaced it. The snapshot and the names change only if the account still holds the link.
   */
  async refreshIdentity(session: Session, client: ClientInfo): Promise<void> {
    const identity = await this.em.findOne(FederatedIdentity, {
      user: session.user,
      provider: GOSUSLUGI_PROVIDER,
    });
    if (!identity) throw LinkErrors.notLinked();
    const used = identity.refreshTokenSealed;
    if (!this.provider.refresh || !used || this.config.gosuslugi.esia?.accessType !== 'offline')
      throw GosuslugiErrors.refreshUnavailable();
    // ЕСИА's refresh tokens are single use: the new one replaces the used one as soon as it comes,
    // and only if no concurrent refresh replaced it first.
    const keep = async (sealed: string) => {
      await this.em.nativeUpdate(
        FederatedIdentity,
        { id: identity.id, refreshTokenSealed: used },
        { refreshTokenSealed: sealed },
      );
    };
    let fresh: VerifiedIdentity;
    try {
      fresh = await this.provider.refresh(identity, keep);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn({ err: error.cause, providerCode: error.code }, 'Госуслуги refresh refused');
      if (error.kind === 'unavailable') throw GosuslugiErrors.unavailable();
      await this.em.nativeUpdate(
        FederatedIdentity,
        { id: identity.id, refreshTokenSealed: used },
        { refreshTokenSealed: null },
      );
      await this.audit.write({
        type: 'gosuslugi.refresh_refused',
        actorUserId: session.user.id,
        targetUserId: session.user.id,
        client,
        details: { reason: error.code },
      });
      throw GosuslugiErrors.loginRequired();
    }
    await this.em.transactional(async (em) => {
      const account = await lockAccount(em, session.user.id, session);
      const current = await em.findOne(FederatedIdentity, identity.id, { refresh: true });
      // Unlinked meanwhile: what came back belongs to nobody here.
      if (current?.user.id !== account.id) throw LinkErrors.notLinked();
      // The token was kept already (keep); the snapshot follows.
      current.refreshFrom({ claims: fresh.claims, unread: fresh.unread });
      takeProviderNames(account, fresh.claims);
      this.audit.record(
        {
          type: 'gosuslugi.refreshed',
          actorUserId: account.id,
          targetUserId: account.id,
          client,
          details: { identityId: current.id },
        },
        em,
      );
      await em.flush();
    });
  }

  /** Removing a way in needs a recent login, like adding one (ASVS 7.5.1). */
  async unlink(session: Session, client: ClientInfo): Promise<void> {
    if (!recentlyAuthenticated(session)) throw Errors.reauthenticationRequired();
    await this.em.transactional(async (em) => {
      const account = await lockAccount(em, session.user.id, session);
      const identity = await this.links.unlink(em, account, 'gosuslugi');
      // A removed way in keeps nobody in: sessions opened through it on other devices end (ASVS
      // 7.4.3); this one and the password sessions go on.
      const ended = await this.sessionManagement.end(em, account, 'gosuslugi_unlinked', {
        except: session.id,
        method: AuthMethod.Gosuslugi,
      });
      this.audit.record(
        {
          type: 'gosuslugi.unlinked',
          actorUserId: session.user.id,
          targetUserId: session.user.id,
          client,
          details: { identityId: identity.id, endedSessions: ended.length },
        },
        em,
      );
      await this.notices.tell(em, account, { kind: 'gosuslugi-unlinked' }, client);
      await em.flush();
    });
  }
}
