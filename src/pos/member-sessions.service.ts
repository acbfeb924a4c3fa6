import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { User } from '../identity/user.entity.js';
import {
  type EndedSessionsResponse,
  type SessionResponse,
} from '../sessions/dto/session.response.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import { SessionErrors } from '../sessions/sessions.texts.js';
import { MemberResponse } from './dto/member.dto.js';
import { MembershipStatus, type Membership } from './membership.entity.js';
import { MembersService } from './members.service.js';
import { type Organization } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
import { PosErrors } from './pos.texts.js';

/**
 * A ПОС administrator sees and ends the sessions of the person bound to a member account in
 * their subtree. The account is reached by the same rule as every member action (out of reach is
 * 404); the sessions, though, are the person's, used for every organisation they work in and for
 * ЭПОС. So the administrator must also reach every live account the person holds — otherwise the
 * head of a branch could sign out, again and again, an administrator of the organisation above
 * who happens to hold an account in the branch.
 */
@Injectable()
export class MemberSessions {
  constructor(
    private readonly em: EntityManager,
    private readonly members: MembersService,
    private readonly access: PosAccess,
    private readonly sessions: SessionManagement,
    private readonly audit: AuditService,
  ) {}

  private async target(
    caller: User,
    membershipId: string,
  ): Promise<{ membership: Membership; organization: Organization; person: User | null }> {
    const { membership, organization } = await this.members.managed(caller, membershipId);
    // An archived account no longer ties the person to this organisation.
    if (membership.status === MembershipStatus.Archived)
      throw PosErrors.wrongStatus('Учётная запись в архиве');
    if (!membership.user) return { membership, organization, person: null };
    const person = await this.em.findOneOrFail(User, membership.user.id, { refresh: true });
    await this.assertReachesPerson(caller, person);
    return { membership, organization, person };
  }

  private async assertReachesPerson(caller: User, person: User): Promise<void> {
    if (caller.isPlatformOperator) return;
    if (person.isPlatformOperator) throw SessionErrors.outOfReach();
    const roots = await this.access.administeredRoots(caller);
    if (roots === 'all') return;
    const accounts = await this.access.memberships(person);
    const reached = accounts.every((account) =>
      roots.some((root) => root.contains(account.organization)),
    );
    if (!reached) throw SessionErrors.outOfReach();
  }

  /**
   * The person's live sessions as the caller may see them: an administrator sees how many and
   * when (enough to decide to end them), never where from, the IP addresses and user agents being
   * the person's own business; a platform operator sees them too, and that is audited.
   */
  private async visibleSessions(
    caller: User,
    callerSessionId: string,
    membership: Membership,
    organization: Organization,
    person: User | null,
    client: ClientInfo,
  ): Promise<{ sessions: SessionResponse[]; private: boolean }> {
    if (!person) return { sessions: [], private: !caller.isPlatformOperator };
    const sessions = await this.sessions.list(person, callerSessionId);
    if (!caller.isPlatformOperator)
      return {
        sessions: sessions.map((session) => ({ ...session, ip: null, userAgent: null })),
        private: true,
      };
    await this.audit.write({
      type: 'pos.member.sessions_viewed',
      actorUserId: caller.id,
      targetUserId: person.id,
      organizationId: organization.id,
      client,
      details: { membershipId: membership.id, sessions: sessions.length },
    });
    return { sessions, private: false };
  }

  async list(
    caller: User,
    callerSessionId: string,
    membershipId: string,
    client: ClientInfo,
  ): Promise<SessionResponse[]> {
    const { membership, organization, person } = await this.target(caller, membershipId);
    return (
      await this.visibleSessions(caller, callerSessionId, membership, organization, person, client)
    ).sessions;
  }

  /** The member account and its person's live sessions, as the administrator's page shows them. */
  async overview(
    caller: User,
    callerSessionId: string,
    membershipId: string,
    client: ClientInfo,
  ): Promise<{ member: MemberResponse; sessions: SessionResponse[]; private: boolean }> {
    const { membership, organization, person } = await this.target(caller, membershipId);
    return {
      member: MemberResponse.of(membership),
      ...(await this.visibleSessions(
        caller,
        callerSessionId,
        membership,
        organization,
        person,
        client,
      )),
    };
  }

  /** Every session of the person ends at once, in one transaction with its audit event. */
  async endAll(
    caller: User,
    membershipId: string,
    client: ClientInfo,
  ): Promise<EndedSessionsResponse> {
    const { membership, organization, person } = await this.target(caller, membershipId);
    if (!person) return { ended: 0 };
    const ids = await this.sessions.endRecorded(person, 'ended_by_admin', {}, (ended) => ({
      type: 'pos.member.sessions_ended',
      actorUserId: caller.id,
      targetUserId: person.id,
      organizationId: organization.id,
      client,
      details: { membershipId: membership.id, sessionIds: ended },
    }));
    return { ended: ids.length };
  }
}
