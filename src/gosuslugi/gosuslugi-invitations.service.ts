import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { User } from '../identity/user.entity.js';
import { type Session } from '../sessions/session.entity.js';
import {
  type BrowserSession,
  type CallbackOutcome,
  type ProviderRedirect,
  refused,
  sessionEnded,
  startingSession,
} from './callback-outcome.js';
import { GosuslugiLogin } from './gosuslugi-login.service.js';
import { type GosuslugiPage } from './gosuslugi.texts.js';
import {
  type AcceptanceOutcome,
  INVITATION_ACCEPTANCE,
  type InvitationAcceptancePort,
  type RefusalReason,
} from './invitation-acceptance.js';
import { LoginPurpose } from './login-purpose.js';
import { type LoginTransaction } from './login-transaction.entity.js';
import { LoginTransactions } from './login-transactions.service.js';
import { IDENTITY_PROVIDER_CLIENT, type IdentityProviderClient } from './provider-client.js';

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

/** The page of a refused acceptance, naming the organisation or the address where that helps. */
function refusalPage(
  outcome: Extract<AcceptanceOutcome, { kind: 'refused' }>,
): Extract<CallbackOutcome, { kind: 'refused' }> {
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

/**
 * Accepting an invitation through Госуслуги: the round trip names the invitation, and the
 * identity that comes back is handed to the invitations feature through its port
 * (InvitationAcceptancePort), which decides; an accepted person is logged in.
 */
@Injectable()
export class GosuslugiInvitations {
  constructor(
    private readonly em: EntityManager,
    private readonly transactions: LoginTransactions,
    @Inject(IDENTITY_PROVIDER_CLIENT) private readonly provider: IdentityProviderClient,
    private readonly login: GosuslugiLogin,
    private readonly audit: AuditService,
    @Inject(INVITATION_ACCEPTANCE) private readonly invitations: InvitationAcceptancePort,
  ) {}

  /**
   * From the invitation page: the token itself stays out of the transaction, its invitation id
   * goes in; with `into`, the signed-in session whose account the person chose to accept into.
   */
  async start(invitationId: string, into?: Session): Promise<ProviderRedirect> {
    const { transaction, cookie } = await this.transactions.begin(LoginPurpose.Invite, {
      invitationId,
      returnTo: '/pos',
      ...(into && { userId: into.user.id, sessionId: into.id }),
    });
    // The invitation binds whoever comes back: never reuse a Госуслуги session left in the browser.
    const url = await this.provider.authorizationUrl(transaction, { reauthenticate: true });
    return { url, transactionCookie: cookie };
  }

  /** The invitation is consumed and the person logged in; the two first-login confirmations follow on /pos. */
  async accept(
    identity: VerifiedIdentity,
    transaction: LoginTransaction,
    browserSession: BrowserSession,
    client: ClientInfo,
  ): Promise<CallbackOutcome> {
    if (!transaction.invitationId)
      return refused(this.audit, 'invalidTransaction', client, 'no_invitation');
    // Accepting into the signed-in account: the browser must still hold the session that chose it.
    const into = transaction.sessionId
      ? await startingSession(browserSession, transaction)
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
      return refusalPage(outcome);
    }
    // The session the browser holds now, after the acceptance, is the one the new one replaces.
    const previous = await browserSession();
    const login = await this.em.transactional(async (em) =>
      this.login.openSession(em, await em.findOneOrFail(User, outcome.user.id), client, previous),
    );
    return { kind: 'logged_in', login, returnTo: transaction.returnTo ?? '/pos' };
  }
}
