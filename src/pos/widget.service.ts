import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsString, IsUrl, Length, MaxLength } from 'class-validator';
import { NoControlCharacters, Optional } from '../common/validation.js';
import { trimmed } from '../accounts/dto/fields.js';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { type User } from '../identity/user.entity.js';
import { HTTPS_URL } from './dto/organization.dto.js';
import { type Organization } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
import { DEFAULT_BANNER, WIDGET_VARIANTS, widgetCode } from './widget-code.js';
import { placementOf, type WidgetPlacement } from './widget-placement/widget-placement.service.js';

export { DEFAULT_BANNER, WIDGET_VARIANTS } from './widget-code.js';

export class WidgetDto {
  @ApiProperty({ enum: WIDGET_VARIANTS, description: 'Вариант оформления' })
  @IsIn(WIDGET_VARIANTS, {
    context: { code: 'not_allowed', message: 'Варианты оформления: standard, dark, compact' },
  })
  variant!: (typeof WIDGET_VARIANTS)[number];

  @ApiPropertyOptional({ example: DEFAULT_BANNER })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @Length(3, 200)
  @NoControlCharacters()
  bannerText?: string;

  @ApiProperty({
    example: 'https://school5.example.ru',
    description: 'Официальный сайт организации',
  })
  @Transform(trimmed)
  @IsUrl(HTTPS_URL, {
    context: { code: 'invalid_url', message: 'Нужен адрес сайта, начинающийся с https://' },
  })
  @MaxLength(500)
  siteUrl!: string;
}

export interface WidgetResponse {
  lkoNumber: string;
  variant: string;
  bannerText: string;
  siteUrl: string;
  /** The embed code in ПОС's format (widget-code.ts); its last call carries the ЛКО number. */
  code: string;
  /** The last placement check of the official site. */
  placement: WidgetPlacement;
}

@Injectable()
export class WidgetService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async generate(
    user: User,
    organizationId: string,
    dto: WidgetDto,
    client: ClientInfo,
  ): Promise<WidgetResponse> {
    const organization = await this.access.administered(user, organizationId);
    const bannerText = dto.bannerText ?? DEFAULT_BANNER;
    if (organization.officialSiteUrl !== dto.siteUrl) {
      // A check of the old address says nothing about the new one.
      organization.widgetCheckState = null;
      organization.widgetCheckedAt = null;
      organization.widgetCheckReason = null;
    }
    organization.officialSiteUrl = dto.siteUrl;
    organization.widgetVariant = dto.variant;
    organization.widgetBannerText = bannerText;
    organization.widgetGeneratedAt = new Date();
    this.audit.record({
      type: 'pos.widget.generated',
      actorUserId: user.id,
      organizationId: organization.id,
      client,
      details: { variant: dto.variant, siteUrl: dto.siteUrl },
    });
    await this.em.flush();
    return this.widgetOf(organization);
  }

  /** The code generated last for the organisation, if any (the admin page shows it again). */
  async current(user: User, organizationId: string): Promise<WidgetResponse | null> {
    const organization = await this.access.administered(user, organizationId);
    return organization.widgetGeneratedAt ? this.widgetOf(organization) : null;
  }

  private widgetOf(organization: Organization): WidgetResponse {
    const lko = String(organization.lkoNumber);
    // The code lands on third-party sites: only a known variant chooses its design.
    const variant = WIDGET_VARIANTS.find((v) => v === organization.widgetVariant) ?? 'standard';
    const bannerText = organization.widgetBannerText ?? DEFAULT_BANNER;
    return {
      lkoNumber: lko,
      variant,
      bannerText,
      siteUrl: organization.officialSiteUrl ?? '',
      code: widgetCode(this.config.widget.posBaseUrl, lko, variant, bannerText),
      placement: placementOf(organization),
    };
  }
}
