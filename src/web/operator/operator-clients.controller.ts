import { Body, Controller, Param, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpResponse, seeOther } from '../../common/http.js';
import { type StaleForm, type StaleFormPage } from '../../sessions/auth-context.js';
import { type ClientInfo } from '../../common/client-info.js';
import { ValidationFailedError } from '../../common/errors.js';
import {
  type ClientAcr,
  type ClientChangeActor,
  ClientsService,
  type NewClient,
} from '../../provider/clients.service.js';
import { type Session } from '../../sessions/session.entity.js';
import { RecentAuthentication } from '../../sessions/recent-authentication.guard.js';
import { STALE_FORM } from '../../rendering/page.texts.js';
import { CreateClientFormDto, OperatorFormDto } from './dto/operator-forms.dto.js';
import { OperatorPagesGuard } from './operator-pages.guard.js';
import { operatorUrl, OperatorView } from './operator-view.js';
import { PageForm } from '../page-routes.js';
import { Call, type PageCall } from '../page-call.js';

const CLIENTS_TAB = operatorUrl('clients');

/** A textarea's addresses: one a line, blank lines and the spaces around an address ignored. */
const lines = (value: string | undefined): string[] =>
  (value ?? '')
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line !== '');

/**
 * The form as ClientsService takes it. Only the form's own choice (the type radio) is checked
 * here; the name, the addresses and the required login are checked by the service, by the rules
 * `client:create` follows.
 */
function newClient(form: CreateClientFormDto): NewClient {
  const type = form.type ?? 'confidential';
  if (type !== 'confidential' && type !== 'public')
    throw new ValidationFailedError({
      type: [{ code: 'unknown', message: 'Выберите тип приложения' }],
    });
  const backchannel = form.backchannelLogoutUri?.trim();
  return {
    name: form.name,
    redirectUris: lines(form.redirectUris),
    postLogoutRedirectUris: lines(form.postLogoutRedirectUris),
    backchannelLogoutUri: backchannel ? backchannel : null,
    isPublic: type === 'public',
    firstParty: form.firstParty !== undefined,
    // An unknown value is the service's to refuse («Неизвестный уровень входа»).
    requiredAcr: form.requiredAcr ? (form.requiredAcr as ClientAcr) : null,
  };
}

/** The signed-in operator, as ClientsService audits a change made on these pages. */
const byOperator = (session: Session, client: ClientInfo): ClientChangeActor => ({
  userId: session.user.id,
  client,
  via: 'web',
});

/** A client id from the address, cut to the 64 characters a client_id can have. */
const clientId = (id: string): string => id.slice(0, 64);

/**
 * /pos/operator, «Приложения»: a platform operator registers a client of the OpenID Provider,
 * issues a confidential client a new secret, or disables a client — through ClientsService, as
 * `client:create`, `client:rotate-secret` and `client:disable` do, audited with the operator's id
 * and address. A secret is shown once, in the answer to the POST (never a redirect or an address;
 * the page is not cached), and kept only hashed. Registering and a new secret hand out a
 * credential of an application that signs people in: they need a recent authentication.
 */
@ApiExcludeController()
@Controller('pos/operator/clients')
@UseGuards(OperatorPagesGuard)
export class OperatorClientsController implements StaleFormPage {
  constructor(
    private readonly clients: ClientsService,
    private readonly view: OperatorView,
  ) {}

  /** «Новое приложение». */
  @RecentAuthentication()
  @PageForm(CLIENTS_TAB)
  async create(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: CreateClientFormDto,
  ): Promise<void> {
    let created: Awaited<ReturnType<ClientsService['create']>>;
    try {
      created = await this.clients.create(newClient(form), byOperator(session, client));
    } catch (error) {
      const { csrf: _csrf, ...values } = form;
      return this.view.failed(request, response, session, error, {
        tab: 'clients',
        form: 'client',
        values,
      });
    }
    await this.view.credentials(request, response, session, {
      kind: 'created',
      client: created.client,
      clientSecret: created.clientSecret,
    });
  }

  /** «Выпустить новый секрет»: the old secret stops working at once. */
  @RecentAuthentication()
  @PageForm(CLIENTS_TAB, ':id/rotate-secret')
  async rotateSecret(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id') id: string,
    @Body() _form: OperatorFormDto,
  ): Promise<void> {
    let rotated: Awaited<ReturnType<ClientsService['rotateSecret']>>;
    try {
      rotated = await this.clients.rotateSecret(clientId(id), byOperator(session, client));
    } catch (error) {
      return this.view.failed(request, response, session, error, { tab: 'clients' });
    }
    await this.view.credentials(request, response, session, {
      kind: 'rotated',
      client: rotated.client,
      clientSecret: rotated.clientSecret,
    });
  }

  /** «Отключить»: the client can no longer sign anyone in (as client:disable). */
  @PageForm(CLIENTS_TAB, ':id/disable')
  async disable(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id') id: string,
    @Body() _form: OperatorFormDto,
  ): Promise<void> {
    try {
      await this.clients.disable(clientId(id), byOperator(session, client));
    } catch (error) {
      return this.view.failed(request, response, session, error, { tab: 'clients' });
    }
    seeOther(response, operatorUrl('clients', { notice: 'client_disabled' }));
  }

  async staleForm({ request, response, auth }: StaleForm): Promise<void> {
    if (!auth) throw new Error('an operator form without a session');
    await this.view.render(request, response, auth.session, {
      status: 403,
      tab: 'clients',
      notice: { kind: 'error', text: STALE_FORM },
    });
  }
}
