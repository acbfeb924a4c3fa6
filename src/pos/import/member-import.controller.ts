import { Controller, HttpCode, HttpStatus, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type HttpRequest } from '../../common/http.js';
import { CurrentAuth, type AuthContext } from '../../sessions/auth-context.js';
import { Client, type ClientInfo } from '../../common/client-info.js';
import { ID } from '../../common/ids.js';
import { DomainError } from '../../common/errors.js';
import { PosRoute } from '../pos-routes.js';
import { ImportErrors } from './import.texts.js';
import { IMPORT_BODY_TYPES, ImportUpload } from './import-body.js';
import { type ImportResult, MemberImport } from './member-import.service.js';
import { RecentAuthentication } from '../../sessions/recent-authentication.guard.js';

/** «Импорт из файла» through the API: the CSV or XLSX file is the request body. */
@ApiTags('pos: members')
@ApiCookieAuth()
@ApiBearerAuth()
@Controller('api/v1/pos')
export class MemberImportController {
  constructor(private readonly imports: MemberImport) {}

  @Post('organizations/:id/members/import')
  // The file is read last, once every check above has let the caller in.
  @ImportUpload('raw')
  // Importing writes invitations, administrators among them (ASVS 7.5.3); the dry run writes nothing.
  @RecentAuthentication((request) => request.query.dryRun === 'false')
  @PosRoute('admin')
  @HttpCode(HttpStatus.OK)
  @ApiConsumes(...IMPORT_BODY_TYPES)
  @ApiOperation({
    summary:
      'Импорт пользователей из CSV или XLSX (тело запроса — файл); ?dryRun=true — только проверка, ничего не записывается',
  })
  import(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Query('dryRun') dryRun: unknown,
    @Req() request: HttpRequest,
    @Client() client: ClientInfo,
  ): Promise<ImportResult> {
    if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false')
      throw new DomainError(
        HttpStatus.BAD_REQUEST,
        'invalid_dry_run',
        'Параметр dryRun: true или false',
      );
    const body: unknown = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw ImportErrors.noFile();
    return this.imports.run(auth.user, id, body, dryRun !== 'false', client);
  }
}
