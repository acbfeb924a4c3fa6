import { HttpStatus, Injectable } from '@nestjs/common';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { type AuthContext, type StaleForm } from '../sessions/auth-context.js';
import { DomainError, type FieldErrors } from '../common/errors.js';
import { type Session } from '../sessions/session.entity.js';
import { Csrf } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { type Nav, type NavSection, PageSessions } from './page-session.js';
import { type Notice } from '../rendering/page.texts.js';

/** What every page of a signed-in person carries: the header menu and the form token. */
export interface PageHeader {
  nav: Nav;
  csrf: string;
}

/** A way back from a message page. */
export interface PageLink {
  href: string;
  text: string;
}

/** A form the service refused: the status to answer with, its notice, the fields' errors. */
export interface FormRefusal {
  status: number;
  code: string;
  notice: Notice;
  errors?: FieldErrors;
}

/**
 * The steps every signed-in page repeats around its own content, in one place: the header (menu
 * and form token), the session of a stale form, a refused form's status and notice, and the
 * message pages for a wrong address and an organisation the caller may not administer.
 */
@Injectable()
export class PageContext {
  constructor(
    private readonly pageSessions: PageSessions,
    private readonly pages: PageRenderer,
    private readonly csrf: Csrf,
  ) {}

  /** The header of a signed-in page: the menu (with `section` marked) and the form token. */
  async header(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    section: NavSection,
  ): Promise<PageHeader> {
    return {
      nav: await this.pageSessions.nav(request, response, session, section),
      csrf: this.csrf.token(request, response),
    };
  }

  /** A signed-in page: `view` with `data` and the header, `section` marked in the menu. */
  async send(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    section: NavSection,
    status: number,
    view: string,
    data: object,
  ): Promise<void> {
    this.pages.send(response, status, view, {
      ...data,
      ...(await this.header(request, response, session, section)),
    });
  }

  /**
   * The signed-in caller of a stale form: a @Page() form's session is loaded by the guard before
   * its form token is looked at, so a stale one without it is a programming error.
   */
  staleAuth(form: StaleForm): AuthContext {
    if (!form.auth) throw new Error(`a page form without a session (${form.handler})`);
    return form.auth;
  }

  /**
   * The form-error step: a domain error becomes the status and the notice the form is shown again
   * with (with `fieldsText` instead of the message when it names fields); anything else is thrown.
   */
  refusal(error: unknown, fieldsText?: string): FormRefusal {
    if (!(error instanceof DomainError)) throw error;
    return {
      status: error.status,
      code: error.code,
      errors: error.errors,
      notice: { kind: 'error', text: (error.errors && fieldsText) || error.message },
    };
  }

  /**
   * The step of a one-button form: `action`, then on to `done`; a refusal of the service (a domain
   * error; anything else is thrown) goes to `refused` instead, to show the page again with it.
   */
  async act(
    response: HttpResponse,
    done: string,
    action: () => Promise<unknown>,
    refused: (refusal: FormRefusal) => Promise<void>,
  ): Promise<void> {
    try {
      await action();
    } catch (error) {
      return refused(this.refusal(error));
    }
    seeOther(response, done);
  }

  /** 404: an address of the area that names nothing. */
  notFound(response: HttpResponse, back: PageLink): void {
    this.pages.send(response, 404, 'message', {
      title: 'Страница не найдена',
      paragraphs: ['Проверьте адрес.'],
      links: [back],
    });
  }

  /**
   * An organisation the caller may not administer (PosAccess.administered refused it): 403 «Нет
   * доступа к организации» or 404 «Организация не найдена», back to the administration.
   */
  organizationRefused(response: HttpResponse, error: DomainError, forbiddenTitle?: string): void {
    const forbidden = error.status === HttpStatus.FORBIDDEN;
    this.pages.send(response, forbidden ? 403 : 404, 'message', {
      title: forbidden ? (forbiddenTitle ?? 'Нет доступа к организации') : 'Организация не найдена',
      paragraphs: [error.message],
      code: error.code,
      links: [{ href: '/pos/admin', text: 'Администрирование ЛКО' }],
    });
  }
}
