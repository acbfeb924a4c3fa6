import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { PasskeyAssertion, SecondFactorCode } from './second-factor-fields.js';

export class SecondFactorTokenDto {
  @ApiProperty({ description: 'mfaToken из ответа POST /api/v1/auth/login' })
  @IsString()
  @MaxLength(100)
  mfaToken!: string;
}

export class SecondFactorCodeDto extends SecondFactorTokenDto {
  @SecondFactorCode({
    description: 'Код из приложения (6 цифр) или резервный код (XXXX-XXXX-XXXX); или assertion',
    example: '123456',
  })
  code?: string;

  @PasskeyAssertion(
    'Ответ ключа доступа (passkey): результат navigator.credentials.get() в JSON ' +
      '(AuthenticationResponseJSON, как его отдаёт @simplewebauthn/browser) на параметры из ' +
      'POST /api/v1/auth/login/mfa/passkey-options',
  )
  assertion?: Record<string, unknown>;
}

/** A right password of an account with a second factor: no session yet, a step to continue. */
export class SecondFactorRequiredResponse {
  @ApiProperty({ example: 401 }) statusCode!: number;
  @ApiProperty({ enum: ['mfa_required', 'mfa_enrolment_required'] }) code!:
    'mfa_required' | 'mfa_enrolment_required';
  @ApiProperty() message!: string;
  @ApiProperty({ description: 'Одноразовый токен шага (256 бит), действует expiresIn секунд' })
  mfaToken!: string;
  @ApiProperty({ example: ['totp', 'recovery_code'] }) methods!: string[];
  @ApiProperty({ example: 300 }) expiresIn!: number;
}

export class TotpEnrolmentResponse {
  @ApiProperty({ description: 'Секрет в base32 для ввода в приложение вручную' }) secret!: string;
  @ApiProperty({ example: 'otpauth://totp/…' }) otpauthUri!: string;
  @ApiProperty({ description: 'QR-код otpauthUri: data:image/svg+xml;base64,…' }) qrCode!: string;
}

export class SecondFactorLoginResponse {
  @ApiProperty() accessToken!: string;
  @ApiProperty({ example: 'Bearer' }) tokenType!: 'Bearer';
  @ApiProperty({ example: 900 }) expiresIn!: number;
  @ApiProperty({
    required: false,
    description: 'После подключения: 10 резервных кодов, показываются один раз',
    type: [String],
  })
  recoveryCodes?: string[];
}
