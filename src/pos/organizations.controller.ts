import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Res,
  StreamableFile,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type HttpResponse } from '../common/http.js';
import { Authenticated } from '../common/auth-decorators.js';
import { CurrentAuth, type AuthContext } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { ID } from '../common/ids.js';
import {
  CreateOrganizationDto,
  OrganizationResponse,
  UpdateOrganizationDto,
} from './dto/organization.dto.js';
import { OrganizationsService } from './organizations.service.js';
import { AdminRoute } from './pos-routes.js';
import { filterStatus, parseStatusQuery, statusCsv, statusXlsx } from './report-table.js';
import { ReportService, type StatusRow } from './report.service.js';
import { WidgetDto, type WidgetResponse, WidgetService } from './widget.service.js';
import { WidgetPlacementService } from './widget-placement/widget-placement.service.js';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

@ApiTags('pos: organizations')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('api/v1/pos/organizations')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly reports: ReportService,
    private readonly widgets: WidgetService,
    private readonly placements: WidgetPlacementService,
  ) {}

  @Post()
  @Authenticated()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Создать ЛКО (только оператор платформы)' })
  async create(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: CreateOrganizationDto,
    @Client() client: ClientInfo,
  ): Promise<OrganizationResponse> {
    return OrganizationResponse.of(await this.organizations.create(auth.user, dto, client));
  }

  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Дерево организаций, доступных пользователю' })
  tree(@CurrentAuth() auth: AuthContext): Promise<OrganizationResponse[]> {
    return this.organizations.visible(auth.user);
  }

  @AdminRoute('get', ':id', 'Данные ЛКО')
  details(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
  ): Promise<OrganizationResponse> {
    return this.organizations.details(auth.user, id);
  }

  @AdminRoute('patch', ':id', 'Изменить данные ЛКО')
  update(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Body() dto: UpdateOrganizationDto,
    @Client() client: ClientInfo,
  ): Promise<OrganizationResponse> {
    return this.organizations.update(auth.user, id, dto, client);
  }

  @AdminRoute('get', ':id/children', 'Подведомственные организации')
  children(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
  ): Promise<OrganizationResponse[]> {
    return this.organizations.children(auth.user, id);
  }

  @AdminRoute(
    'get',
    ':id/connection-status',
    'Статус подключения поддерева (JSON, ?format=csv или xlsx; ?filter=no_admin|lko_not_ready|no_widget, ?authority=<id>)',
  )
  async connectionStatus(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Query('format') format: unknown,
    @Query('filter') filter: unknown,
    @Query('authority') authority: unknown,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<StatusRow[] | string | StreamableFile> {
    const all = await this.reports.connectionStatus(auth.user, id);
    const rows = filterStatus(all, parseStatusQuery(filter, authority));
    if (format !== 'csv' && format !== 'xlsx') return rows;
    const name = `connection-status-${all[0]?.lkoNumber ?? id}.${format}`;
    response.header('Content-Disposition', `attachment; filename="${name}"`);
    if (format === 'csv') {
      response.type('text/csv; charset=utf-8');
      return statusCsv(rows);
    }
    return new StreamableFile(await statusXlsx(rows), { type: XLSX_TYPE });
  }

  @AdminRoute(
    'post',
    ':id/widget',
    'Код виджета для официального сайта (заканчивается номером ЛКО)',
    HttpStatus.OK,
  )
  widget(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Body() dto: WidgetDto,
    @Client() client: ClientInfo,
  ): Promise<WidgetResponse> {
    return this.widgets.generate(auth.user, id, dto, client);
  }

  @AdminRoute(
    'post',
    ':id/widget/check',
    'Проверить сейчас, размещён ли виджет на официальном сайте (фоновая проверка; раз в минуту)',
    HttpStatus.ACCEPTED,
  )
  async checkWidget(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<{ queued: true }> {
    await this.placements.requestCheck(auth.user, id, client);
    return { queued: true };
  }
}
