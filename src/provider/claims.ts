import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type Account, type Configuration } from 'oidc-provider';
import { User, UserStatus } from '../identity/user.entity.js';
import { MembershipStatus } from '../pos/membership.entity.js';
import { PosAccess } from '../pos/pos-access.service.js';

/** The scopes a client may ask for; `pos`: the person's ПОС accounts, for the back office. */
export const PROVIDER_SCOPES = ['openid', 'profile', 'email', 'phone', 'pos'] as const;

/** Which claims each scope releases (docs/oidc.md, «Scopes and claims»). */
export const PROVIDER_CLAIMS: NonNullable<Configuration['claims']> = {
  // oidc-provider's standalone defaults; `acr`, `amr` (how the person logged in) and
  // `auth_time` are put in the openid scope so every ID token carries them.
  acr: null,
  sid: null,
  iss: null,
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'preferred_username'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  pos: ['pos_memberships'],
};

/** One ПОС account (учетная запись в ЛКО) as the `pos_memberships` claim lists it. */
export interface PosMembershipClaim {
  organization_id: string;
  lko_number: string;
  /** Empty until the account is confirmed (the first-login rule): no role works before that. */
  roles: string[];
  confirmed: boolean;
}

/**
 * The people the provider signs in, as oidc-provider's `findAccount` returns them: only active
 * accounts (blocked and archived ones are not found, so their codes and tokens stop working), and
 * their claims computed for the scopes asked (the memberships only when `pos` is).
 */
@Injectable()
export class ProviderAccounts {
  constructor(
    private readonly em: EntityManager,
    private readonly pos: PosAccess,
  ) {}

  async find(id: string): Promise<Account | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const user = await this.em.fork().findOne(User, { id });
    if (!user || user.status !== UserStatus.Active) return undefined;
    return {
      accountId: user.id,
      claims: async (_use, scope) => ({
        ...personClaims(user),
        ...(scope.split(' ').includes('pos') && {
          pos_memberships: await this.memberships(user),
        }),
      }),
    };
  }

  /** The accounts PosAccess counts (registered and confirmed; invited and archived ones are not). */
  private async memberships(user: User): Promise<PosMembershipClaim[]> {
    const memberships = await this.pos.memberships(user);
    return memberships.map((m) => {
      const confirmed = m.status === MembershipStatus.Confirmed;
      return {
        organization_id: m.organization.id,
        lko_number: String(m.organization.lkoNumber),
        roles: confirmed ? [...m.roles] : [],
        confirmed,
      };
    });
  }
}

function personClaims(user: User): { sub: string } & Record<string, unknown> {
  const name = [user.lastName, user.firstName, user.middleName].filter(Boolean).join(' ');
  return {
    sub: user.id,
    ...(name && { name }),
    ...(user.lastName && { family_name: user.lastName }),
    ...(user.firstName && { given_name: user.firstName }),
    ...(user.middleName && { middle_name: user.middleName }),
    preferred_username: user.login,
    // `email` holds only a verified address (an unverified one waits in pendingEmail).
    ...(user.email && { email: user.email, email_verified: true }),
    ...(user.phone && { phone_number: user.phone, phone_number_verified: false }),
  };
}
