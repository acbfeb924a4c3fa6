import { Query, Res } from '@nestjs/common';
import { type HttpRequest, type HttpResponse } from '../common/http.js';
import { type Notice, noticeOf, STALE_FORM } from '../rendering/page.texts.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { type Session } from '../sessions/session.entity.js';
import { type FormRefusal, type PageContext } from './page-context.js';
import { SignedInPage } from './page-routes.js';
import { failure } from './web.texts.js';
import { Call, type PageCall } from './page-call.js';

/** One drawing of a FormPage: for whom, with which status, and the notice at its top. */
export interface FormPageState {
  request: HttpRequest;
  response: HttpResponse;
  session: Session;
  status: number;
  notice?: Notice;
}

/**
 * The query parameters a FormPage's address may carry, as the server parses them (strings, or
 * lists of them). Each is declared by name on `page()`, as the fuzzer and the route
 * inventory read them: the notice, the Госуслуги return, and what the tabbed pages choose (tab,
 * organisation, user search). A page ignores those it has no use for.
 */
export interface PageQuery {
  notice: unknown;
  gosuslugi: unknown;
  tab: unknown;
  org: unknown;
  q: unknown;
  after: unknown;
}

/** A query parameter given once, as text (its first `max` characters); anything else is none. */
export function queryText(value: unknown, max?: number): string | undefined {
  return typeof value === 'string' ? value.slice(0, max) : undefined;
}

/**
 * A signed-in page whose forms come back to it, drawn by one `render`: the page itself (`GET`, with
 * the notice its `?notice=` names in `notices`, and what else `fromQuery` reads), a stale form (403
 * «Страница устарела») and a form the service refused (its status and notice). The controller adds
 * its forms; `Extra` is what its drawing takes besides a FormPageState (a tab, an organisation).
 */
export abstract class FormPage<Extra extends object = object> implements StaleFormPage {
  protected constructor(
    protected readonly context: PageContext,
    private readonly notices: Readonly<Record<string, Notice>> = {},
  ) {}

  @SignedInPage()
  async page(
    @Res() response: HttpResponse,
    // What a tabbed page chooses: the tab, the organisation, a page of the user search.
    @Query('tab') tab: unknown,
    @Query('org') org: unknown,
    @Query('q') q: unknown,
    @Query('after') after: unknown,
    @Call() { request, session }: PageCall,
    // What a page says at its top.
    @Query('notice') notice: unknown,
    @Query('gosuslugi') gosuslugi: unknown,
  ): Promise<void> {
    const query: PageQuery = { notice, gosuslugi, tab, org, q, after };
    const state = { request, response, session, status: 200, notice: this.pageNotice(query) };
    await this.render(state, this.fromQuery(query));
  }

  async staleForm(form: StaleForm): Promise<void> {
    const { request, response } = form;
    const { session } = this.context.staleAuth(form);
    await this.render({ request, response, session, status: 403, notice: failure(STALE_FORM) }, {});
  }

  /** The notice the page's query names (`?notice=`). */
  protected pageNotice(query: PageQuery): Notice | undefined {
    return noticeOf(this.notices, query.notice);
  }

  /** What else the page's query asks for (a tab, an organisation). */
  protected fromQuery(_query: PageQuery): Partial<Extra> {
    return {};
  }

  /** What the page says of a refused one-button form: the service's message. */
  protected refusalNotice(refusal: FormRefusal): Notice {
    return refusal.notice;
  }

  /** A one-button form (PageContext.act): a refusal is this page again, with its notice. */
  protected act(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    done: string,
    action: () => Promise<unknown>,
  ): Promise<void> {
    return this.context.act(response, done, action, (refusal) =>
      this.render(
        {
          request,
          response,
          session,
          status: refusal.status,
          notice: this.refusalNotice(refusal),
        },
        {},
      ),
    );
  }

  protected abstract render(page: FormPageState, extra: Partial<Extra>): Promise<void>;
}
