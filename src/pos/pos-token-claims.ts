import { Injectable } from '@nestjs/common';
import { type User } from '../identity/user.entity.js';
import { type AccessTokenClaimsSource } from '../sessions/token-claims.js';
import { PosAccess } from './pos-access.service.js';

/** Access tokens carry the person's ПОС accounts so a back office can authorise offline. */
@Injectable()
export class PosTokenClaims implements AccessTokenClaimsSource {
  constructor(private readonly access: PosAccess) {}

  async claimsFor(user: User): Promise<Record<string, unknown>> {
    const memberships = await this.access.memberships(user);
    return {
      memberships: memberships.map((m) => ({
        organizationId: m.organization.id,
        lkoNumber: String(m.organization.lkoNumber),
        roles: m.roles,
        status: m.status,
      })),
    };
  }
}
