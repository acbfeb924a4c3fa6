import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { PreparedStatement } from '../common/prepared-statement.js';
import { type User } from '../identity/user.entity.js';
import { type AccessTokenClaimsSource } from '../sessions/token-claims.js';
import { LIVE_STATUSES, type MembershipStatus } from './membership.entity.js';

/**
 * The person's live (accepted, not archived) memberships as the claim's JSON, oldest first: the
 * same set as `PosAccess.memberships`, built by PostgreSQL. Every password login signs a token
 * with them, so they are SQL rather than entities made only to copy four fields out of them.
 */
function membershipsJson(userIdSql: string): string {
  return `(select coalesce(json_agg(json_build_object(
      'organizationId', m."organization_id", 'lkoNumber', o."lko_number"::text,
      'roles', m."roles", 'status', m."status") order by m."created_at"), '[]'::json)
    from "pos_memberships" m join "pos_organizations" o on o."id" = m."organization_id"
    where m."user_id" = ${userIdSql}
      and m."status" in (${LIVE_STATUSES.map((status) => `'${status}'`).join(', ')}))`;
}

const MEMBERSHIP_CLAIMS = new PreparedStatement(
  'token_memberships',
  () => `select ${membershipsJson('?::uuid')} as "memberships"`,
);

interface MembershipClaim {
  organizationId: string;
  lkoNumber: string;
  roles: string[];
  status: MembershipStatus;
}

/** Access tokens carry the person's ПОС accounts so a back office can authorise offline. */
@Injectable()
export class PosTokenClaims implements AccessTokenClaimsSource {
  constructor(private readonly em: EntityManager) {}

  async claimsFor(user: User): Promise<Record<string, unknown>> {
    const [row] = await MEMBERSHIP_CLAIMS.rows<{ memberships: unknown }>(this.em, [user.id]);
    return this.claimsOf(row.memberships);
  }

  claimsSql(userIdSql: string): string {
    return membershipsJson(userIdSql);
  }

  claimsOf(cell: unknown): Record<string, unknown> {
    const memberships = (typeof cell === 'string' ? JSON.parse(cell) : cell) as MembershipClaim[];
    return { memberships };
  }
}
