import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { lockAccount } from '../identity/account-lock.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { IdentityLinks, type VerifiedIdentity } from '../identity/identity-links.service.js';
import { takeProviderNames, type User, UserStatus } from '../identity/user.entity.js';
import { type LoginResult } from '../sessions/login-outcome.js';
import { LoginSessions } from '../sessions/login-sessions.service.js';
import { AuthMethod, type Session } from '../sessions/session.entity.js';
import {
  type BrowserSession,
  type CallbackOutcome,
  type ProviderRedirect,
} from './callback-outcome.js';
import { LoginPurpose } from './login-purpose.js';
import { type LoginTransaction } from './login-transaction.entity.js';
import { LoginTransactions } from './login-transactions.service.js';
import { IDENTITY_PROVIDER_CLIENT, type IdentityProviderClient } from './provider-client.js';
import { DEFAULT_RETURN } from './return-to.js';

/**
 * Login through Госуслуги: an identity linked to an account opens a session for it. Only a link
 * made earlier counts; an unknown identity is refused, never matched by its data.
 */
@Injectable()
export class GosuslugiLogin {
  constructor(
    private readonly em: EntityManager,
    private readonly transactions: LoginTransactions,
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly links: IdentityLinks,
    private readonly loginSessions: LoginSessions,
    private readonly audit: AuditService,
  ) {}

  async start(returnTo: string | null): Promise<ProviderRedirect> {
    const { transaction, cookie } = await this.transactions.begin(LoginPurpose.Login, { returnTo });
    return { url: await this.provider.authorizationUrl(transaction), transactionCookie: cookie };
  }

  /** Back with a verified identity: the session of the account it is linked to, or a refusal. */
  async finish(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    browserSession: BrowserSession,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    const previous = await browserSession();
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
      const login = await this.openSession(em, user, client, previous);
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
   * A Госуслуги session for the account, flushed; the session the browser had ends as replaced
   * (and its applications move along or end, as LoginSessions decides). Accepting an invitation
   * logs in the same way.
   */
  async openSession(
    em: EntityManager,
    user: User,
    client: ClientInfo,
    previous: Session | null,
  ): Promise<LoginResult> {
    return this.loginSessions.open(em, { user, method: AuthMethod.Gosuslugi, client, previous });
  }
}
