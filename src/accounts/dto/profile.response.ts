import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  type FederatedIdentity,
  type IdentityOrganization,
} from '../../identity/federated-identity.entity.js';
import { type UserProfile } from '../../identity/user.entity.js';

export class LinkedIdentityResponse {
  @ApiProperty({ example: 'gosuslugi' }) provider!: string;
  @ApiProperty() linkedAt!: string;
  @ApiPropertyOptional({ nullable: true }) lastLoginAt!: string | null;
  @ApiPropertyOptional({ nullable: true, description: 'ФИО из Госуслуг' }) displayName!:
    string | null;
  @ApiPropertyOptional({ nullable: true, description: 'Подтверждённая учётная запись Госуслуг' })
  trusted!: boolean | null;
  @ApiPropertyOptional({ description: 'Адрес e-mail, подтверждённый на Госуслугах' })
  email?: string;
  @ApiPropertyOptional({ description: 'Мобильный телефон, подтверждённый на Госуслугах' })
  mobile?: string;
  @ApiPropertyOptional({ type: [Object], description: 'Организации человека на Госуслугах' })
  organizations?: IdentityOrganization[];
  @ApiPropertyOptional({ description: 'Когда данные прочитаны с Госуслуг' })
  readAt?: string;
}

export class ProfileResponse {
  @ApiProperty() id!: string;
  @ApiProperty() login!: string;
  @ApiPropertyOptional({ nullable: true, description: 'Только подтверждённый адрес' }) email!:
    string | null;
  @ApiPropertyOptional({ nullable: true, description: 'Адрес, ожидающий подтверждения' })
  pendingEmail!: string | null;
  @ApiPropertyOptional({ nullable: true }) phone!: string | null;
  @ApiPropertyOptional({ nullable: true }) lastName!: string | null;
  @ApiPropertyOptional({ nullable: true }) firstName!: string | null;
  @ApiPropertyOptional({ nullable: true }) middleName!: string | null;
  @ApiProperty({ enum: ['active', 'blocked', 'archived'] }) status!: string;
  @ApiProperty({ type: [LinkedIdentityResponse] }) identities!: LinkedIdentityResponse[];
  @ApiProperty({ type: [Object], description: 'Учётные записи в ЛКО (ПОС)' })
  memberships!: unknown[];

  static of(
    user: UserProfile,
    identities: readonly Pick<
      FederatedIdentity,
      'provider' | 'linkedAt' | 'lastLoginAt' | 'claims'
    >[],
  ): ProfileResponse {
    return {
      id: user.id,
      login: user.login,
      email: user.email,
      pendingEmail: user.pendingEmail,
      phone: user.phone,
      lastName: user.lastName,
      firstName: user.firstName,
      middleName: user.middleName,
      status: user.status,
      identities: identities.map((identity) => ({
        provider: identity.provider,
        linkedAt: identity.linkedAt.toISOString(),
        lastLoginAt: identity.lastLoginAt?.toISOString() ?? null,
        displayName:
          [identity.claims.lastName, identity.claims.firstName, identity.claims.middleName]
            .filter(Boolean)
            .join(' ') || null,
        trusted: identity.claims.trusted ?? null,
        ...(identity.claims.email && { email: identity.claims.email }),
        ...(identity.claims.mobile && { mobile: identity.claims.mobile }),
        ...(identity.claims.organizations && {
          organizations: identity.claims.organizations,
        }),
        ...(identity.claims.readAt && { readAt: identity.claims.readAt }),
      })),
      memberships: [],
    };
  }
}
