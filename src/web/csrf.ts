import { Injectable } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import { type CookieOptions, type Request, type Response } from 'express';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { sameSecret } from '../common/secrets.js';
import { assertSameOrigin } from '../sessions/same-origin.js';

/** A form that carries nothing but its token. */
export class CsrfFormDto {
  @IsString()
  @MaxLength(100)
  csrf!: string;
}

/**
 * Double-submit token for server-rendered forms: a random value in an HttpOnly, SameSite=Lax
 * cookie and the same value in a hidden field. A forged cross-site form cannot read the cookie
 * to copy it; the Origin check (assertSameOrigin) comes first, in checkForm.
 */
@Injectable()
export class Csrf {
  constructor(private readonly config: AppConfig) {}

  private get cookieOptions(): CookieOptions {
    return { httpOnly: true, sameSite: 'lax', secure: this.config.session.secureCookie, path: '/' };
  }

  private get cookieName(): string {
    return this.config.isProduction ? '__Host-il_csrf' : 'il_csrf';
  }

  /** The browser's token, made and set when it has none. */
  token(request: Request, response: Response): string {
    const existing: unknown = (request.cookies as Record<string, unknown> | undefined)?.[
      this.cookieName
    ];
    if (typeof existing === 'string' && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    // One new token per response, however many forms the page holds.
    const issued: unknown = response.locals.csrfToken;
    if (typeof issued === 'string') return issued;
    const token = randomBytes(32).toString('base64url');
    response.locals.csrfToken = token;
    response.cookie(this.cookieName, token, this.cookieOptions);
    return token;
  }

  /**
   * Forgets the browser's token when who is signed in changes (login, logout, registration), so
   * a token seen before cannot be replayed in the new session; the next page issues a new one.
   */
  rotate(response: Response): void {
    delete response.locals.csrfToken;
    response.clearCookie(this.cookieName, this.cookieOptions);
  }

  /**
   * Every form post starts here: a post from another origin is refused outright (403
   * `cross_origin_request`); otherwise the answer is whether the form's token matches the cookie,
   * and the caller decides how to show a stale form.
   */
  checkForm(request: Request, submitted: unknown): boolean {
    assertSameOrigin(request, this.config.publicUrl);
    return this.valid(request, submitted);
  }

  /** Whether a submitted form token is the browser's (constant-time). */
  valid(request: Request, submitted: unknown): boolean {
    const cookie: unknown = (request.cookies as Record<string, unknown> | undefined)?.[
      this.cookieName
    ];
    return (
      typeof cookie === 'string' && typeof submitted === 'string' && sameSecret(cookie, submitted)
    );
  }
}
