import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type User } from '../identity/user.entity.js';
import { Membership, MembershipStatus, LIVE_STATUSES } from './membership.entity.js';
import { Organization } from './organization.entity.js';
import { PosErrors } from './pos.texts.js';
import { type PosArea, type PosRole, rolesOfArea } from './roles.js';

/**
 * Who may do what in ПОС. An administrator acts on their organisation and everything below it —
 * never on a parent, sibling or cousin; a platform operator acts everywhere. Organisations out of
 * the caller's reach are answered as not found, so their existence does not leak.
 */
@Injectable()
export class PosAccess {
  constructor(private readonly em: EntityManager) {}

  /** The caller's live (accepted, not archived) memberships with their organisations. */
  async memberships(user: User): Promise<Membership[]> {
    return this.em.find(
      Membership,
      { user, status: { $in: [...LIVE_STATUSES] } },
      { populate: ['organization'], orderBy: { createdAt: 'asc' } },
    );
  }

  /** Area gate for routes: a role of the area, and the first-login confirmation given. */
  async requireArea(user: User, area: PosArea): Promise<Membership[]> {
    const roles = rolesOfArea(area);
    const withRole = (await this.memberships(user)).filter((m) =>
      m.roles.some((role) => roles.includes(role)),
    );
    if (withRole.length === 0) {
      if (area === 'admin' && user.isPlatformOperator) return [];
      throw PosErrors.noRole();
    }
    const confirmed = withRole.filter((m) => m.status === MembershipStatus.Confirmed);
    if (confirmed.length === 0 && !(area === 'admin' && user.isPlatformOperator))
      throw PosErrors.confirmationRequired();
    return confirmed;
  }

  /** Any organisation by id (platform-operator tools only). */
  async organization(id: string): Promise<Organization> {
    const organization = await this.em.findOne(Organization, { id });
    if (!organization) throw PosErrors.organizationNotFound();
    return organization;
  }

  /** The organisation, if the caller administers it (operator, or confirmed admin at or above it). */
  async administered(user: User, organizationId: string): Promise<Organization> {
    const organization = await this.em.findOne(Organization, { id: organizationId });
    if (!organization) throw PosErrors.organizationNotFound();
    if (user.isPlatformOperator) return organization;
    const scopes = (await this.memberships(user)).filter((m) =>
      m.roles.includes('admin' satisfies PosRole),
    );
    if (
      scopes.some(
        (m) => m.status === MembershipStatus.Confirmed && m.organization.contains(organization),
      )
    )
      return organization;
    if (scopes.some((m) => m.organization.contains(organization)))
      throw PosErrors.confirmationRequired();
    throw PosErrors.organizationNotFound();
  }

  /** Roots of the subtrees the caller administers (all roots for an operator). */
  async administeredRoots(user: User): Promise<Organization[] | 'all'> {
    if (user.isPlatformOperator) return 'all';
    return (await this.memberships(user))
      .filter((m) => m.status === MembershipStatus.Confirmed && m.roles.includes('admin'))
      .map((m) => m.organization);
  }
}
