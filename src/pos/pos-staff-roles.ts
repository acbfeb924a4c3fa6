import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type StaffRolesSource } from '../sessions/staff-roles.js';
import { Membership, LIVE_STATUSES } from './membership.entity.js';

/** «Администратор ЛКО» of any organisation, for the second-factor policy (MFA_REQUIRED_FOR_ADMINS). */
@Injectable()
export class PosStaffRoles implements StaffRolesSource {
  constructor(private readonly em: EntityManager) {}

  async isAdministrator(userId: string): Promise<boolean> {
    const count = await this.em.count(Membership, {
      user: userId,
      status: { $in: [...LIVE_STATUSES] },
      roles: { $contains: ['admin'] },
    });
    return count > 0;
  }
}
