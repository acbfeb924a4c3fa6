import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  Length,
  MaxLength,
  ValidateBy,
} from 'class-validator';
import {
  CODE_PREFIX,
  IsEmailAddress,
  NoControlCharacters,
  Optional,
} from '../../common/validation.js';
import { snilsChecksumValid } from '../invitee.js';
import { trimmed } from '../../accounts/dto/fields.js';
import { type Membership } from '../membership.entity.js';
import { STATUS_NAMES } from '../pos.texts.js';
import { ROLE_CODES, type PosRole, roleName } from '../roles.js';

const ROLE_LIST = { context: { code: 'unknown_role', message: `Роли: ${ROLE_CODES.join(', ')}` } };

const INVALID_SNILS = {
  code: 'invalid_snils',
  message:
    'СНИЛС указан с ошибкой: нужно 11 цифр (например, 112-233-445 95), контрольное число должно сходиться',
};

/** A SNILS with a right check number, in any of the usual spellings (or empty, to remove one). */
export const IsSnils = (options: { allowEmpty?: boolean } = {}) =>
  ValidateBy({
    name: `${CODE_PREFIX}${INVALID_SNILS.code}`,
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' &&
        ((options.allowEmpty === true && value === '') || snilsChecksumValid(value)),
      defaultMessage: () => INVALID_SNILS.message,
    },
  });

/** «Добавить пользователя». */
export class AddMemberDto {
  @ApiProperty({ example: 'director@school5.example.ru' })
  @Transform(trimmed)
  @IsEmailAddress()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'Соколова' })
  @Transform(trimmed)
  @IsString()
  @Length(1, 100)
  @NoControlCharacters()
  lastName!: string;

  @ApiProperty({ example: 'Анна' })
  @Transform(trimmed)
  @IsString()
  @Length(1, 100)
  @NoControlCharacters()
  firstName!: string;

  @ApiPropertyOptional({ example: 'Павловна' })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(100)
  @NoControlCharacters()
  middleName?: string;

  @ApiPropertyOptional({
    example: '112-233-445 95',
    description:
      'СНИЛС приглашаемого: принять приглашение сможет только профиль Госуслуг с этим СНИЛС. Хранится только HMAC; в списке видны последние 3 цифры',
  })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(20)
  @IsSnils()
  snils?: string;

  @ApiPropertyOptional({ example: 'Директор' })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(200)
  @NoControlCharacters()
  position?: string;

  @ApiProperty({ enum: ROLE_CODES, isArray: true, example: ['admin'] })
  @IsArray()
  @ArrayMinSize(1, { context: { code: 'roles_required', message: 'Выберите хотя бы одну роль' } })
  @ArrayMaxSize(ROLE_CODES.length)
  @ArrayUnique()
  @IsIn(ROLE_CODES, { each: true, ...ROLE_LIST })
  roles!: PosRole[];
}

export class ChangeRolesDto {
  @ApiProperty({ enum: ROLE_CODES, isArray: true })
  @IsArray()
  @ArrayMinSize(1, { context: { code: 'roles_required', message: 'Выберите хотя бы одну роль' } })
  @ArrayMaxSize(ROLE_CODES.length)
  @ArrayUnique()
  @IsIn(ROLE_CODES, { each: true, ...ROLE_LIST })
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
