import { Body, Controller, Get, HttpCode, HttpStatus, Patch, Post } from '@nestjs/common';
import { ApiCookieAuth, ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  Authenticated,
  CredentialEndpoint,
  Public,
  ThrottleGroup,
} from '../common/auth-decorators.js';
import { CurrentAuth, type AuthContext } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { AccountsService } from './accounts.service.js';
import { ChangePasswordDto } from './dto/change-password.dto.js';
import { ProfileResponse } from './dto/profile.response.js';
import { RegisterAccountDto } from './dto/register-account.dto.js';
import { UpdateProfileDto } from './dto/update-profile.dto.js';
import { describePolicy } from './password-policy.js';

@ApiTags('accounts')
@Controller('api/v1')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get('password-policy')
  @Public()
  @ApiOperation({ summary: 'Политика паролей как данные (правила с кодами и текстами)' })
  passwordPolicy() {
    return describePolicy();
  }

  @Post('accounts')
  @Public()
  @CredentialEndpoint()
  @ThrottleGroup('registration')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Регистрация локальной учётной записи' })
  register(
    @Body() dto: RegisterAccountDto,
    @Client() client: ClientInfo,
  ): Promise<ProfileResponse> {
    return this.accounts.register(dto, client);
  }

  @Get('me')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Личный кабинет: профиль, привязанные учётные записи, ЛКО' })
  me(@CurrentAuth() auth: AuthContext): ProfileResponse {
    // The account and its linked identities came with the session (kept current by the session
    // cache's triggers): no entity is made, and the request's unit of work is never forked.
    return ProfileResponse.of(auth.facts.profile, auth.facts.identities);
  }

  @Patch('me')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Изменить e-mail или телефон' })
  updateMe(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: UpdateProfileDto,
    @Client() client: ClientInfo,
  ): Promise<ProfileResponse> {
    return this.accounts.updateProfile(auth.user, dto, client, auth.session);
  }

  @Post('me/password')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Сменить пароль; другие сеансы завершаются' })
  changePassword(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: ChangePasswordDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.accounts.changePassword(auth.user, auth.session, dto, client);
  }
}
