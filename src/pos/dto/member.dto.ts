import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Optional } from '../../common/validation.js';
import { type Membership } from '../membership.entity.js';
import { STATUS_NAMES } from '../pos.texts.js';
import { ROLE_CODES, type PosRole, roleName } from '../roles.js';
import { InviteeEmail, NamePart, NameText, RoleList, SnilsText } from './invitee-fields.js';

/** «Добавить пользователя». */
export class AddMemberDto {
  @ApiProperty({ example: 'director@school5.example.ru' })
  @InviteeEmail()
  email!: string;

  @ApiProperty({ example: 'Соколова' })
  @NamePart()
  lastName!: string;

  @ApiProperty({ example: 'Анна' })
  @NamePart()
  firstName!: string;

  @ApiPropertyOptional({ example: 'Павловна' })
  @Optional()
  @NameText(100)
  middleName?: string;

  @ApiPropertyOptional({
    example: '112-233-445 95',
    description:
      'СНИЛС приглашаемого: принять приглашение сможет только профиль Госуслуг с этим СНИЛС. Хранится только HMAC; в списке видны последние 3 цифры',
  })
  @Optional()
  @SnilsText()
  snils?: string;

  @ApiPropertyOptional({ example: 'Директор' })
  @Optional()
  @NameText(200)
  position?: string;

  @ApiProperty({ enum: ROLE_CODES, isArray: true, example: ['admin'] })
  @RoleList()
  roles!: PosRole[];
}

export class ChangeRolesDto {
  @ApiProperty({ enum: ROLE_CODES, isArray: true })
  @RoleList()
  roles!: PosRole[];
}

export class MemberResponse {
  @ApiProperty() id!: string;
  @ApiProperty() organizationId!: string;
  @ApiProperty() email!: string;
  @ApiProperty() lastName!: string;
  @ApiProperty() firstName!: string;
  @ApiPropertyOptional({ nullable: true }) middleName!: string | null;
  @ApiPropertyOptional({ nullable: true }) position!: string | null;
  @ApiPropertyOptional({ nullable: true, description: 'Последние 3 цифры СНИЛС из приглашения' })
  snilsLast3!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    description: 'ФИО, которое вернули Госуслуги, когда приглашение приняли',
  })
  acceptedName!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    description: 'Последняя попытка принять приглашение другим профилем Госуслуг',
  })
  mismatchAt!: string | null;
  @ApiProperty({ isArray: true, enum: ROLE_CODES }) roles!: PosRole[];
  @ApiProperty({ type: [String], description: 'Названия ролей' }) roleNames!: string[];
  @ApiProperty({ enum: ['invited', 'registered', 'confirmed', 'archived'] }) status!: string;
  @ApiProperty({ description: '«Приглашен», «Зарегистрирован», «Подтвержден», «В архиве»' })
  statusName!: string;
  @ApiPropertyOptional({ nullable: true, enum: ['queued', 'sent', 'retrying', 'failed'] })
  deliveryState!: string | null;
  @ApiPropertyOptional({ nullable: true }) deliveryUpdatedAt!: string | null;
  @ApiProperty() createdAt!: string;

  static of(membership: Membership): MemberResponse {
    return {
      id: membership.id,
      organizationId: membership.organization.id,
      email: membership.email,
      lastName: membership.lastName,
      firstName: membership.firstName,
      middleName: membership.middleName,
      position: membership.position,
      snilsLast3: membership.snilsLast3,
      acceptedName: membership.acceptedName,
      mismatchAt: membership.mismatchAt?.toISOString() ?? null,
      roles: membership.roles,
      roleNames: membership.roles.map(roleName),
      status: membership.status,
      statusName: STATUS_NAMES[membership.status],
      deliveryState: membership.deliveryState,
      deliveryUpdatedAt: membership.deliveryUpdatedAt?.toISOString() ?? null,
      createdAt: membership.createdAt.toISOString(),
    };
  }
}
