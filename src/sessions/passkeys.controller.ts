import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Param,
  Post,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import {
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { IsObject, IsString, MaxLength } from 'class-validator';
import { Authenticated } from '../common/auth-decorators.js';
import { type AuthContext, CurrentAuth } from './auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { ID } from '../common/ids.js';
import { Errors } from '../common/errors.js';
import { type Passkey } from '../identity/passkey.entity.js';
import { Passkeys } from './passkeys.service.js';
import { recentlyAuthenticated } from './session-rules.js';

class PasskeyRegistrationDto {
  @ApiProperty({ example: 'Ноутбук', description: 'Название ключа, 1–64 символа' })
  @IsString()
  @MaxLength(64)
  name!: string;

  @ApiProperty({
    type: Object,
    description: 'Результат navigator.credentials.create() в JSON (RegistrationResponseJSON)',
  })
  @IsObject()
  attestation!: Record<string, unknown>;
}

class PasskeyResponse {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: [String] }) transports!: string[];
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt!: Date | null;

  static of(key: Passkey): PasskeyResponse {
    const { id, name, transports, createdAt, lastUsedAt } = key;
    return { id, name, transports, createdAt, lastUsedAt };
  }
}

/**
 * The signed-in person's passkeys (what «Двухфакторная аутентификация» → «Ключи доступа» does):
 * adding and removing one needs a recent login in a browser session, like enrolling TOTP.
 */
@ApiTags('me')
@ApiCookieAuth()
@Controller('api/v1/me/mfa/passkeys')
export class PasskeysController {
  constructor(private readonly passkeys: Passkeys) {}

  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Ключи доступа (passkeys) учётной записи' })
  @ApiOkResponse({ type: [PasskeyResponse] })
  async list(@CurrentAuth() auth: AuthContext): Promise<PasskeyResponse[]> {
    return (await this.passkeys.list(auth.facts.userId)).map((key) => PasskeyResponse.of(key));
  }

  @Post('options')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary:
      'Параметры для navigator.credentials.create() (нужен недавний вход, только из браузера)',
  })
  @ApiOkResponse({ description: 'PublicKeyCredentialCreationOptionsJSON; challenge на 5 минут' })
  @ApiForbiddenResponse({ description: 'reauthentication_required, browser_session_required' })
  options(@CurrentAuth() auth: AuthContext): Promise<PublicKeyCredentialCreationOptionsJSON> {
    this.assertRecent(auth);
    return this.passkeys.registrationOptions(auth.user, auth.session.id);
  }

  @Post()
  @Authenticated({ via: 'cookie' })
  @ApiOperation({ summary: 'Добавить ключ доступа: ответ браузера на параметры из options' })
  @ApiCreatedResponse({ type: PasskeyResponse })
  @ApiConflictResponse({ description: 'passkey_already_registered' })
  async register(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: PasskeyRegistrationDto,
    @Client() client: ClientInfo,
  ): Promise<PasskeyResponse> {
    this.assertRecent(auth);
    const key = await this.passkeys.register(
      auth.user,
      auth.session.id,
      dto.name,
      dto.attestation,
      client,
    );
    return PasskeyResponse.of(key);
  }

  @Delete(':id')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Удалить ключ доступа (нужен недавний вход)' })
  @ApiNoContentResponse()
  async remove(
    @CurrentAuth() auth: AuthContext,
    @Param('id', ID) id: string,
    @Client() client: ClientInfo,
  ): Promise<void> {
    this.assertRecent(auth);
    await this.passkeys.remove(auth.user, id, client);
  }

  @Post('reauthentication-options')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Параметры для подтверждения ключом доступа в POST /api/v1/auth/reauthenticate',
  })
  @ApiOkResponse({ description: 'PublicKeyCredentialRequestOptionsJSON; challenge этого сеанса' })
  reauthenticationOptions(
    @CurrentAuth() auth: AuthContext,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.passkeys.authenticationOptions(auth.user, 'reauth', auth.session.id);
  }

  private assertRecent(auth: AuthContext): void {
    if (!recentlyAuthenticated(auth.facts)) throw Errors.reauthenticationRequired();
  }
}
