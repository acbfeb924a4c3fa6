import { Query, Req, Res } from '@nestjs/common';
import { type Request, type Response } from 'express';
import { type Notice, noticeOf, STALE_FORM } from '../rendering/page.texts.js';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { type Session } from '../sessions/session.entity.js';
import { type PageContext } from './page-context.js';
import { SignedInPage } from './page-routes.js';
import { failure } from './web.texts.js';

/** One drawing of a FormPage: for whom, with which status, and the notice at its top. */
export interface FormPageState {
  request: Request;
  response: Response;
  session: Session;
  status: number;
  notice?: Notice;
}

/**
 * A signed-in page whose forms come back to it, drawn by one `render`: the page itself (`GET`, with
 * the notice its `?notice=` names in `notices`), a stale form (403 «Страница устарела») and a form
 * the service refused (its status and notice). The controller adds its forms.
 */
export abstract class FormPage implements StaleFormPage {
  protected constructor(
    protected readonly context: PageContext,
    private readonly notices: Readonly<Record<string, Notice>> = {},
  ) {}

  @SignedInPage()
  async page(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    await this.render({
      request,
      response,
      session,
      status: 200,
      notice: noticeOf(this.notices, notice),
    });
  }

  async staleForm(form: StaleForm): Promise<void> {
    const { request, response } = form;
    const { session } = this.context.staleAuth(form);
    await this.render({ request, response, session, status: 403, notice: failure(STALE_FORM) });
  }

  /** A one-button form (PageContext.act): a refusal is this page again, with its notice. */
  protected act(
    request: Request,
    response: Response,
    session: Session,
    done: string,
    action: () => Promise<unknown>,
  ): Promise<void> {
    return this.context.act(response, done, action, ({ status, notice }) =>
      this.render({ request, response, session, status, notice }),
    );
  }

  protected abstract render(page: FormPageState): Promise<void>;
}
