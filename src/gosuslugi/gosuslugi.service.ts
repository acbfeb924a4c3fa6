import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { AppConfig } from '../config/app-config.js';
import { type ClientInfo } from '../common/client-info.js';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { AuthMethod, type Session } from '../sessions/session.entity.js';
import { type BrowserReturn, type CallbackOutcome, refused } from './callback-outcome.js';
import { GosuslugiInvitations } from './gosuslugi-invitations.service.js';
import { GosuslugiLinks } from './gosuslugi-links.service.js';
import { GosuslugiLogin } from './gosuslugi-login.service.js';
import { LoginPurpose } from './login-purpose.js';
import { LoginTransactions } from './login-transactions.service.js';
import {
  IDENTITY_PROVIDER_CLIENT,
  type IdentityProviderClient,
  LOGGED_OUT_PATH,
  ProviderError,
} from './provider-client.js';

/**
 * The round trip to Госуслуги that its three flows share: one redirect URI for login
 * (GosuslugiLogin), link (GosuslugiLinks) and invitation acceptance (GosuslugiInvitations); the
 * server-side transaction says which one a callback finishes. Also the provider's own logout,
 * around a re-authentication and at «Выйти».
 */
@Injectable()
export class GosuslugiService {
  private readonly logger = new Logger('Gosuslugi');

  constructor(
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly transactions: LoginTransactions,
    private readonly login: GosuslugiLogin,
    private readonly linking: GosuslugiLinks,
    private readonly invitations: GosuslugiInvitations,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Back from the provider's logout on the way to a fresh authorization (ЕСИА re-authentication):
   * on to the authorization of the round trip this browser has pending, or null when none is.
   */
  async continueAfterLogout(handle: string | undefined): Promise<URL | null> {
    // Only the round trips that re-authenticate go through the provider's logout; a Login never does.
    const transaction = await this.transactions.peek(handle, [
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
   * Consumes the browser's transaction first; then lets the provider client check the response
   * (state, iss, code, PKCE, ID token signature, issuer, audience, expiry, nonce); only then acts.
   */
  async callback(
    { handle, state, browserSession, callbackUrl }: BrowserReturn & { callbackUrl: URL },
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    const transaction = await this.transactions.consume(handle, state, [
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
        return this.login.finish(identity, transaction, browserSession, client);
      case LoginPurpose.Link:
        return this.linking.offer(identity, transaction, browserSession, client);
      case LoginPurpose.Invite:
        return this.invitations.accept(identity, transaction, browserSession, client);
      case LoginPurpose.LinkConfirm:
        // consume() above accepts only callback purposes.
        return refused(this.audit, 'invalidTransaction', client, 'no_transaction');
    }
  }
}
