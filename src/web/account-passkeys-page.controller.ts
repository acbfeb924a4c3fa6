import { Body, Controller, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsString, IsUUID, MaxLength } from 'class-validator';
import { type HttpResponse, seeOther } from '../common/http.js';
import { DomainError } from '../common/errors.js';
import { Passkeys } from '../sessions/passkeys.service.js';
import { recentlyAuthenticated } from '../sessions/session-rules.js';
import { PageForm } from './page-routes.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { Call, type PageCall } from './page-call.js';

export class PasskeyAddFormDto extends CsrfFormDto {
  @IsString()
  @MaxLength(64)
  name!: string;

  /** The JSON the page's script put here: navigator.credentials.create()'s answer. */
  @IsString()
  @MaxLength(32_768)
  attestation!: string;
}

export class PasskeyRemoveFormDto extends CsrfFormDto {
  @IsUUID('4')
  id!: string;
}

const PATH = '/account/mfa';

/** Why adding a key failed, as the notice /account/mfa shows (see MFA_NOTICES there). */
const ADD_FAILURES: Record<string, string> = {
  passkey_already_registered: 'passkey_exists',
  passkey_name_invalid: 'passkey_name',
  passkey_registration_failed: 'passkey_failed',
};

/**
 * «Ключи доступа (passkeys)» of /account/mfa: adding a key (its answer to the challenge the page
 * was made with) and removing one, both only within 10 minutes of entering the password, like
 * enrolling TOTP. Each answers with a redirect to the page and a notice; a stale form gets the
 * generic 403 «Страница устарела» (FormTokenInterceptor), like every page form without its token.
 */
@ApiExcludeController()
@Controller('account/mfa/passkeys')
export class AccountPasskeysPageController {
  constructor(private readonly passkeys: Passkeys) {}

  @PageForm(PATH)
  async add(
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Body() form: PasskeyAddFormDto,
  ): Promise<void> {
    if (!recentlyAuthenticated(session)) return seeOther(response, PATH);
    try {
      await this.passkeys.register(session.user, session.id, form.name, form.attestation, client);
    } catch (error) {
      const notice = error instanceof DomainError ? ADD_FAILURES[error.code] : undefined;
      if (!notice) throw error;
      return seeOther(response, `${PATH}?notice=${notice}`);
    }
    seeOther(response, `${PATH}?notice=passkey_added`);
  }

  @PageForm(PATH, 'remove')
  async remove(
    @Res() response: HttpResponse,
    @Call() { session, client }: PageCall,
    @Body() form: PasskeyRemoveFormDto,
  ): Promise<void> {
    if (!recentlyAuthenticated(session)) return seeOther(response, PATH);
    try {
      await this.passkeys.remove(session.user, form.id, client);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'passkey_not_found') throw error;
    }
    seeOther(response, `${PATH}?notice=passkey_removed`);
  }
}
