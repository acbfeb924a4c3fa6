import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsEnum,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { NoControlCharacters, Optional } from '../../common/validation.js';
import { trimmed } from '../../accounts/dto/fields.js';
import { OrganizationKind, type Organization } from '../organization.entity.js';

export class CreateOrganizationDto {
  @ApiProperty({ example: 'Управление образования администрации города' })
  @Transform(trimmed)
  @IsString()
  @Length(3, 500)
  @NoControlCharacters()
  name!: string;

  @ApiProperty({ enum: OrganizationKind })
  @IsEnum(OrganizationKind, {
    context: {
      code: 'not_allowed',
      message: 'Тип: authority (орган) или institution (учреждение)',
    },
  })
  kind!: OrganizationKind;

  @ApiPropertyOptional({
    nullable: true,
    description: 'Родительская организация; без неё (или null) — корень дерева',
  })
  @IsOptional()
  @IsUUID('4')
  parentId?: string;
}

export const HTTPS_URL = {
  protocols: ['https'],
  require_protocol: true,
  require_tld: true,
  allow_underscores: false,
};

export class UpdateOrganizationDto {
  @ApiPropertyOptional()
  @Optional()
  @Transform(trimmed)
  @IsString()
  @Length(3, 500)
  @NoControlCharacters()
  name?: string;

  @ApiPropertyOptional({ nullable: true, example: 'https://school5.example.ru' })
  @ValidateIf((_, value) => value !== null && value !== undefined)
  @Transform(trimmed)
  @IsUrl(HTTPS_URL, {
    context: { code: 'invalid_url', message: 'Нужен адрес сайта, начинающийся с https://' },
  })
  @MaxLength(500)
  officialSiteUrl?: string | null;
}

export class OrganizationResponse {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: OrganizationKind }) kind!: OrganizationKind;
  @ApiPropertyOptional({ nullable: true }) parentId!: string | null;
  @ApiProperty({ description: 'Публичный номер ЛКО' }) lkoNumber!: string;
  @ApiPropertyOptional({ nullable: true }) officialSiteUrl!: string | null;
  @ApiPropertyOptional({ nullable: true }) readyConfirmedAt!: string | null;
  @ApiProperty() depth!: number;

  static of(organization: Organization): OrganizationResponse {
    return {
      id: organization.id,
      name: organization.name,
      kind: organization.kind,
      parentId: organization.parent?.id ?? null,
      lkoNumber: String(organization.lkoNumber),
      officialSiteUrl: organization.officialSiteUrl,
      readyConfirmedAt: organization.readyConfirmedAt?.toISOString() ?? null,
      depth: organization.path.split('/').filter(Boolean).length - 1,
    };
  }
}
