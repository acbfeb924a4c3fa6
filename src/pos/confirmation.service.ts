import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Equals, IsBoolean, IsUUID } from 'class-validator';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { type User } from '../identity/user.entity.js';
import { Membership, MembershipStatus } from './membership.entity.js';
import { PosAccess } from './pos-access.service.js';
import { PosErrors } from './pos.texts.js';
import { type PosRole, roleName } from './roles.js';

/** The first-login dialog: «Мною пройдено обучение» and «Личный кабинет организации готов к работе». */
export class ConfirmDto {
  @ApiProperty()
  @IsUUID('4')
  membershipId!: string;

  @ApiProperty({ description: '«Мною пройдено обучение»' })
  @IsBoolean()
  @Equals(true, {
    context: { code: 'required_true', message: 'Отметьте «Мною пройдено обучение»' },
  })
  trainingCompleted!: boolean;

  @ApiProperty({ description: '«Личный кабинет организации готов к работе»' })
  @IsBoolean()
  @Equals(true, {
    context: {
      code: 'required_true',
      message: 'Отметьте «Личный кабинет организации готов к работе»',
    },
  })
  organizationReady!: boolean;
}

export interface MembershipSummary {
  membershipId: string;
  organizationId: string;
  organizationName: string;
  lkoNumber: string;
  roles: PosRole[];
  roleNames: string[];
  status: MembershipStatus;
  organizationReady: boolean;
}

@Injectable()
export class ConfirmationService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly access: PosAccess,
  ) {}

  /** The caller's accounts in organisations, those awaiting the two confirmations first. */
  async summary(
    user: User,
  ): Promise<{ pending: MembershipSummary[]; memberships: MembershipSummary[] }> {
    const memberships = (await this.access.memberships(user)).map((m) => ({
      membershipId: m.id,
      organizationId: m.organization.id,
      organizationName: m.organization.name,
      lkoNumber: String(m.organization.lkoNumber),
      roles: m.roles,
      roleNames: m.roles.map(roleName),
      status: m.status,
      organizationReady: m.organization.readyConfirmedAt !== null,
    }));
    return {
      pending: memberships.filter((m) => m.status === MembershipStatus.Registered),
      memberships,
    };
  }

  /** Both boxes ticked: the account is «Подтвержден»; the organisation records who confirmed readiness. */
  async confirm(user: User, dto: ConfirmDto, client: ClientInfo): Promise<void> {
    // Both boxes, whatever the caller (the API's DTO checks it too; the page's form may not).
    if (dto.trainingCompleted !== true || dto.organizationReady !== true)
      throw PosErrors.confirmationIncomplete();
    const membership = await this.em.findOne(
      Membership,
      { id: dto.membershipId, user },
      { populate: ['organization'] },
    );
    if (!membership || membership.status === MembershipStatus.Archived)
      throw PosErrors.memberNotFound();
    if (membership.status === MembershipStatus.Confirmed) return;
    if (membership.status !== MembershipStatus.Registered)
      throw PosErrors.wrongStatus('Приглашение ещё не принято');
    const now = new Date();
    membership.trainingConfirmedAt = now;
    membership.confirmedAt = now;
    membership.status = MembershipStatus.Confirmed;
    const organization = membership.organization;
    if (!organization.readyConfirmedAt) {
      organization.readyConfirmedAt = now;
      organization.readyConfirmedBy = user.id;
    }
    this.audit.record({
      type: 'pos.member.confirmed',
      actorUserId: user.id,
      targetUserId: user.id,
      organizationId: organization.id,
      client,
      details: { membershipId: membership.id, training: true, organizationReady: true },
    });
    await this.em.flush();
  }
}
