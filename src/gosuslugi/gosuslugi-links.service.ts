import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { lockSessionAccount } from '../sessions/session-lock.js';
import { LinkErrors as AccountLinkErrors } from '../accounts/account-links.texts.js';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError, Errors } from '../common/errors.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { IdentityLinks, type VerifiedIdentity } from '../identity/identity-links.service.js';
import { normalizeEmail } from '../identity/normalize.js';
import { takeProviderNames, type User } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { emailChangeRefusal, recentlyAuthenticated } from '../sessions/session-rules.js';
import { AuthMethod, Session } from '../sessions/session.entity.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import {
  type BrowserReturn,
  type BrowserSession,
  type CallbackOutcome,
  type LinkStart,
  refused,
  sessionEnded,
  startingSession,
} from './callback-outcome.js';
import { type GosuslugiPage } from './gosuslugi.texts.js';
import { LoginPurpose } from './login-purpose.js';
import { type LoginTransaction } from './login-transaction.entity.js';
import { LoginTransactions } from './login-transactions.service.js';
import { IDENTITY_PROVIDER_CLIENT, type IdentityProviderClient } from './provider-client.js';
import { DEFAULT_RETURN } from './return-to.js';

/**
 * The e-mail Госуслуги marks verified, when the account has no e-mail of its own: the only case
 * in which a link may also give the account its address (and only if the person ticks it).
 */
function adoptableEmail(user: User, identity: VerifiedIdentity): string | null {
  const email = identity.claims.email;
  return email && user.email === null ? normalizeEmail(email) : null;
}

/**
 * The account's Госуслуги link: the round trip started for the signed-in account, the link
 * offered after it, made on the person's confirming POST, and removed. The callback that comes
 * back is GosuslugiService's to route, the refresh of the linked data GosuslugiRefresh's.
 */
@Injectable()
export class GosuslugiLinks {
  constructor(
    private readonly em: EntityManager,
    private readonly transactions: LoginTransactions,
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly links: IdentityLinks,
    private readonly audit: AuditService,
    private readonly notices: AccountNotices,
    private readonly sessionManagement: SessionManagement,
  ) {}

  /** The round trip for the browser's session, whose person must have logged in recently. */
  async start(session: Session | null): Promise<LinkStart> {
    if (!session) return { kind: 'login_required', reauthenticate: false };
    if (!recentlyAuthenticated(session)) return { kind: 'login_required', reauthenticate: true };
    const { transaction, cookie } = await this.transactions.begin(LoginPurpose.Link, {
      userId: session.user.id,
      sessionId: session.id,
    });
    // A link binds whoever comes back: ask Госуслуги to check the person, not reuse a left-over session.
    const url = await this.provider.authorizationUrl(transaction, { reauthenticate: true });
    return { kind: 'redirect', url, transactionCookie: cookie };
  }

  /**
   * Back from Госуслуги with an identity for the signed-in account: nothing is linked yet. The
   * person sees whose Госуслуги profile came back and confirms (a same-origin POST), so a link
   * always follows an explicit action, even when a Госуслуги session was left in the browser.
   */
  async offer(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    browserSession: BrowserSession,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    const session = await startingSession(browserSession, transaction);
    if (!session) return sessionEnded(this.audit, client, transaction);
    // The provider now holds a session in this browser, whatever becomes of the link.
    await this.em.nativeUpdate(Session, { id: session.id }, { providerSignedInAt: new Date() });
    try {
      await this.links.assertLinkable(this.em, session.user, identity);
    } catch (error) {
      return this.linkRefused(error, session.user, client);
    }
    const { cookie } = await this.transactions.begin(LoginPurpose.LinkConfirm, {
      userId: session.user.id,
      sessionId: session.id,
      identity,
    });
    return { kind: 'confirm_link', transactionCookie: cookie };
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

  /** What the confirmation page shows, or null when there is nothing to confirm. */
  async pendingLink(
    handle: string | undefined,
    browserSession: BrowserSession,
  ): Promise<{
    state: string;
    identity: VerifiedIdentity;
    login: string;
    offerEmail: string | null;
  } | null> {
    const transaction = await this.transactions.peek(handle, [LoginPurpose.LinkConfirm]);
    if (!transaction?.identity) return null;
    const session = await startingSession(browserSession, transaction);
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
    { handle, state, browserSession }: BrowserReturn,
    client: ClientInfo,
    useEmail = false,
  ): Promise<CallbackOutcome | LinkStart> {
    const transaction = await this.transactions.consume(handle, state, [LoginPurpose.LinkConfirm]);
    if (!transaction?.identity)
      return refused(this.audit, 'invalidTransaction', client, 'no_pending_link');
    const session = await startingSession(browserSession, transaction);
    if (!session) return sessionEnded(this.audit, client, transaction);
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
        const account = await lockSessionAccount(em, user.id, session);
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
        return sessionEnded(this.audit, client, transaction);
      return this.linkRefused(error, user, client);
    }
    return { kind: 'linked', returnTo: DEFAULT_RETURN };
  }

  /** Removing a way in needs a recent login, like adding one (ASVS 7.5.1). */
  async unlink(session: Session, client: ClientInfo): Promise<void> {
    if (!recentlyAuthenticated(session)) throw Errors.reauthenticationRequired();
    await this.em.transactional(async (em) => {
      const account = await lockSessionAccount(em, session.user.id, session);
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
