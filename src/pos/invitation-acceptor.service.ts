import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { lockAccount } from '../identity/account-lock.js';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import {
  type AcceptInto,
  type InvitationAcceptancePort,
  type RefusalReason,
} from '../gosuslugi/invitation-acceptance.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { IdentityLinks, type VerifiedIdentity } from '../identity/identity-links.service.js';
import { takeProviderNames, User, UserStatus } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { Session } from '../sessions/session.entity.js';
import { Invitation } from './invitation.entity.js';
import { classifyInvitation, lockMembership } from './invitations.service.js';
import { fullName, inviteeMismatch } from './invitee.js';
import { loginCandidates } from './invitee-login.js';
import { type Membership, MembershipStatus } from './membership.entity.js';

export type AcceptanceOutcome =
  | { kind: 'accepted'; user: User; membership: Membership; newAccount: boolean }
  | { kind: 'refused'; reason: RefusalReason; organization?: string; email?: string };

/** The unique index that says the account already has a live membership in the organisation. */
const LIVE_MEMBERSHIP_UNIQUE = 'pos_memberships_live_user_unique';

const constraintOf = (error: UniqueConstraintViolationException): string =>
  String((error as { constraint?: string }).constraint ?? error.message);

/**
 * The Госуслуги callback's InvitationAcceptancePort: an invitation accepted by the person
 * Госуслуги vouched for binds their account (found, chosen or made) to the membership.
 */
@Injectable()
export class InvitationAcceptor implements InvitationAcceptancePort {
  private readonly logger = new Logger('Invitations');

  constructor(
    private readonly em: EntityManager,
    private readonly links: IdentityLinks,
    private readonly audit: AuditService,
    private readonly notices: AccountNotices,
  ) {}

  /**
   * Accepts under row locks, so of two concurrent acceptances of one invitation one wins, and
   * under a lock on the Госуслуги identity, so two invitations accepted at once by one new person
   * make one account. Only the invited person gets in: the name, the SNILS (when the invitation
   * has one) and a confirmed Госуслуги account are checked before anything is bound. The
   * membership goes to the account already linked to the identity; else to the signed-in account
   * the person chose (`into`), which is linked in the same transaction; else to a new account.
   */
  async accept(
    invitationId: string,
    identity: VerifiedIdentity,
    client: ClientInfo,
    into?: AcceptInto,
  ): Promise<AcceptanceOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.acceptOnce(invitationId, identity, client, into);
      } catch (error) {
        if (error instanceof DomainError && error.code === 'identity_linked_elsewhere')
          return { kind: 'refused', reason: 'identity_linked_elsewhere' };
        if (error instanceof DomainError && error.code === 'already_linked')
          return { kind: 'refused', reason: 'already_linked' };
        if (!(error instanceof UniqueConstraintViolationException)) throw error;
        // The account already has a live membership in this organisation.
        if (constraintOf(error) === LIVE_MEMBERSHIP_UNIQUE)
          return { kind: 'refused', reason: 'already_member' };
        // Anything else is a lost race on creating the account (its login, its e-mail, the link):
        // once more, and the account made meanwhile is found.
        this.logger.warn({ constraint: constraintOf(error), attempt }, 'acceptance lost a race');
        if (attempt >= 2) return { kind: 'refused', reason: 'retry' };
      }
    }
  }

  private acceptOnce(
    invitationId: string,
    identity: VerifiedIdentity,
    client: ClientInfo,
    into?: AcceptInto,
  ): Promise<AcceptanceOutcome> {
    return this.em.transactional(async (em): Promise<AcceptanceOutcome> => {
      // One person's acceptances take turns: the second finds the account the first made.
      await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [
        `federated-identity\n${identity.issuer}\n${identity.subject}`,
      ]);
      // Membership row first, then the invitation: the order re-send and archive lock in too.
      const target = await em.findOne(Invitation, { id: invitationId });
      if (!target) return { kind: 'refused', reason: 'unknown' };
      await lockMembership(em, target.membership.id);
      const invitation = await em.findOne(
        Invitation,
        { id: invitationId },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (invitation)
        await em.populate(invitation, ['membership', 'membership.organization'], {
          refresh: true,
        });
      const state = classifyInvitation(invitation);
      if (state.kind !== 'usable') return { kind: 'refused', reason: state.kind };
      const membership = state.invitation.membership;
      const organization = membership.organization.name;
      const mismatch = inviteeMismatch(membership, identity.claims);
      if (mismatch) {
        // Nothing is bound; the administrator's list shows that someone else tried.
        if (mismatch === 'profile_mismatch') membership.mismatchAt = new Date();
        this.audit.record(
          {
            type: 'pos.invitation.mismatch',
            organizationId: membership.organization.id,
            client,
            details: { membershipId: membership.id, reason: mismatch },
          },
          em,
        );
        await em.flush();
        return { kind: 'refused', reason: mismatch, organization };
      }
      const linked = await this.links.find(em, identity.issuer, identity.subject);
      let user: User;
      let newAccount = false;
      if (into) {
        // The signed-in account the person chose, still signed in in this browser.
        const account = await lockAccount(em, into.userId);
        if (!(await em.count(Session, { id: into.sessionId, revokedAt: null })))
          return { kind: 'refused', reason: 'session_ended' };
        if (account.status !== UserStatus.Active)
          return { kind: 'refused', reason: 'account_unavailable' };
        if (linked && linked.user.id !== account.id)
          return { kind: 'refused', reason: 'identity_linked_elsewhere' };
        if (!linked) {
          const made = await this.links.link(em, account, identity);
          this.audit.record(
            {
              type: 'gosuslugi.linked',
              actorUserId: account.id,
              targetUserId: account.id,
              client,
              details: { identityId: made.id, issuer: identity.issuer, via: 'invitation' },
            },
            em,
          );
          await this.notices.tell(
            em,
            account,
            { kind: 'gosuslugi-linked', name: fullName(identity.claims) || null },
            client,
          );
        }
        user = account;
      } else if (linked) {
        user = linked.user;
        if (user.status !== UserStatus.Active)
          return { kind: 'refused', reason: 'account_unavailable' };
      } else {
        // The invitation's address is somebody's account: that is the person's account to join
        // (they log in to it and come back), never a second one.
        if (await em.count(User, { email: membership.email }))
          return { kind: 'refused', reason: 'email_has_account', email: membership.email };
        user = await this.createInvitedUser(em, identity, membership);
        newAccount = true;
      }
      // The ФИО as Госуслуги gives it, as a Госуслуги login or link writes it too.
      takeProviderNames(user, identity.claims);
      state.invitation.acceptedAt = new Date();
      membership.user = user;
      membership.status = MembershipStatus.Registered;
      membership.acceptedName = fullName(identity.claims) || null;
      this.audit.record(
        {
          type: 'pos.invitation.accepted',
          actorUserId: user.id,
          targetUserId: user.id,
          organizationId: membership.organization.id,
          client,
          details: {
            membershipId: membership.id,
            newAccount,
            account: newAccount ? 'created' : into ? 'signed_in' : 'linked',
          },
        },
        em,
      );
      await em.flush();
      return { kind: 'accepted', user, membership, newAccount };
    });
  }

  /**
   * A new account for the invited person: the invitation's address as its verified e-mail
   * (following the link proved the mailbox), a login they can read, the ФИО from Госуслуги, and
   * this identity as its way in until they set a password.
   */
  private async createInvitedUser(
    em: EntityManager,
    identity: VerifiedIdentity,
    membership: Membership,
  ): Promise<User> {
    const user = new User(
      await this.freeLogin(em, loginCandidates(membership.email, identity.claims)),
    );
    // The mailbox and the Госуслуги profile were proved together: the link is as recent as the address.
    const now = new Date();
    Object.assign(user, {
      email: membership.email,
      emailVerifiedAt: now,
      lastName: identity.claims.lastName ?? null,
      firstName: identity.claims.firstName ?? null,
      middleName: identity.claims.middleName ?? null,
    });
    em.persist(user);
    const federated = FederatedIdentity.of(user, identity);
    federated.linkedAt = now;
    federated.lastLoginAt = now;
    em.persist(federated);
    this.audit.record(
      {
        type: 'email.verified',
        actorUserId: user.id,
        targetUserId: user.id,
        details: { source: 'invitation', membershipId: membership.id },
      },
      em,
    );
    return user;
  }

  /** The first candidate nobody has, else the first with a short random suffix. */
  private async freeLogin(em: EntityManager, candidates: string[]): Promise<string> {
    const taken = new Set(
      (await em.find(User, { login: { $in: candidates } }, { fields: ['login'] })).map(
        (u) => u.login,
      ),
    );
    const free = candidates.find((login) => !taken.has(login));
    if (free) return free;
    const base = candidates[0].slice(0, 57);
    for (;;) {
      const login = `${base}.${randomBytes(3).toString('hex')}`;
      if (!(await em.count(User, { login }))) return login;
    }
  }
}
