import { Injectable } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import {
  type HttpRequest,
  type HttpResponse,
  setResponseCookie,
  clearResponseCookie,
} from '../common/http.js';
import { AppConfig } from '../config/app-config.js';
import { newSecret, sameSecret } from '../common/secrets.js';
import { cookieName, cookieOptions, readCookie } from '../sessions/cookies.js';
import { assertSameOrigin } from '../sessions/same-origin.js';

/** A form that carries nothing but its token. */
export class CsrfFormDto {
  @IsString()
  @MaxLength(100)
  csrf!: string;
}

/** The token issued with a response, for the page's other forms (one per response). */
const ISSUED = Symbol('identity-link.csrf-issued');
type Issuing = HttpResponse & { [ISSUED]?: string };

/**
 * Double-submit token for server-rendered forms: a random value in an HttpOnly, SameSite=Lax
 * cookie and the same value in a hidden field. A forged cross-site form cannot read the cookie
 * to copy it. The Origin check (assertSameOrigin) comes first: in the guard for a @FormPost(), in
 * checkForm for the few forms that check themselves.
 */
@Injectable()
export class Csrf {
  constructor(private readonly config: AppConfig) {}

  /** The browser's token, made and set when it has none. */
  token(request: HttpRequest, response: HttpResponse): string {
    const existing = readCookie(request, this.config, 'csrf');
    if (existing) return existing;
    // One new token per response, however many forms the page holds.
    const issued = (response as Issuing)[ISSUED];
    if (issued !== undefined) return issued;
    // Compared with the form field, never stored: the digest is not needed.
    const token = newSecret().secret;
    (response as Issuing)[ISSUED] = token;
    setResponseCookie(response, cookieName(this.config, 'csrf'), token, cookieOptions(this.config));
    return token;
  }

  /**
   * Forgets the browser's token when who is signed in changes (login, logout, registration), so
   * a token seen before cannot be replayed in the new session; the next page issues a new one.
   */
  rotate(response: HttpResponse): void {
    delete (response as Issuing)[ISSUED];
    clearResponseCookie(response, cookieName(this.config, 'csrf'), cookieOptions(this.config));
  }

  /**
   * Every form post starts here: a post from another origin is refused outright (403
   * `cross_origin_request`); otherwise the answer is whether the form's token matches the cookie,
   * and the caller decides how to show a stale form.
   */
  checkForm(request: HttpRequest, submitted: unknown): boolean {
    assertSameOrigin(request, this.config.publicUrl);
    return this.valid(request, submitted);
  }

  /** Whether a submitted form token is the browser's (constant-time). */
  valid(request: HttpRequest, submitted: unknown): boolean {
    const cookie = readCookie(request, this.config, 'csrf');
    return cookie !== undefined && typeof submitted === 'string' && sameSecret(cookie, submitted);
  }
}
