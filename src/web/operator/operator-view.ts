import { Injectable } from '@nestjs/common';
import { type HttpRequest, type HttpResponse } from '../../common/http.js';
import { DomainError, type FieldErrors } from '../../common/errors.js';
import { type User } from '../../identity/user.entity.js';
import { type Organization, OrganizationKind } from '../../pos/organization.entity.js';
import { OperatorRoster } from '../../pos/operator-roster.service.js';
import { OperatorUsers } from '../../pos/operator-users.service.js';
import { OrganizationTree } from '../../pos/organization-tree.service.js';
import { AppConfig } from '../../config/app-config.js';
import { ClientsService } from '../../provider/clients.service.js';
import { type OidcClient } from '../../provider/oidc-client.entity.js';
import { DISCOVERY_PATH } from '../../provider/provider-paths.js';
import { type Session } from '../../sessions/session.entity.js';
import { Csrf } from '../../rendering/csrf.js';
import { PageRenderer } from '../../rendering/page-renderer.js';
import { PageSessions } from '../page-session.js';
import { ORGANIZATION_KINDS } from '../web.texts.js';
import { type Notice } from '../../rendering/page.texts.js';
import {
  CLIENT_ACR_NAMES,
  CLIENT_CREDENTIALS_TEXTS,
  CLIENT_TYPE_NAMES,
  OPERATOR_TAB_NAMES,
  OPERATOR_TABS,
  type OperatorTab,
  USER_STATUS_NAMES,
} from './operator.texts.js';
import { isId } from '../../common/ids.js';

export interface OperatorViewState {
  status: number;
  tab: OperatorTab;
  /** The organisation whose panel is open (organizations tab). */
  organizationId?: string;
  /** Which form of the panel the errors and values belong to. */
  form?: string;
  notice?: Notice;
  errors?: FieldErrors;
  values?: Record<string, unknown>;
  /** The user search (users tab). */
  q?: string;
  after?: string;
}

export function operatorUrl(
  tab: OperatorTab,
  params: Record<string, string | undefined> = {},
): string {
  const query = new URLSearchParams({ tab });
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  return `/pos/operator?${query.toString()}`;
}

const fullName = (user: User) =>
  [user.lastName, user.firstName, user.middleName].filter(Boolean).join(' ') || null;

const depth = (organization: Organization) =>
  organization.path.split('/').filter(Boolean).length - 1;

const date = (value: Date) =>
  value.toLocaleString('ru-RU', { timeZone: 'Europe/Moscow', dateStyle: 'short' });

/**
 * Builds and sends /pos/operator: the tab asked for, with what it needs from the services, and a
 * failed form shown again with its errors.
 */
@Injectable()
export class OperatorView {
  constructor(
    private readonly tree: OrganizationTree,
    private readonly roster: OperatorRoster,
    private readonly users: OperatorUsers,
    private readonly clients: ClientsService,
    private readonly pageSessions: PageSessions,
    private readonly pages: PageRenderer,
    private readonly csrf: Csrf,
    private readonly config: AppConfig,
  ) {}

  notFound(response: HttpResponse): void {
    this.pages.send(response, 404, 'message', {
      title: 'Страница не найдена',
      paragraphs: ['Проверьте адрес.'],
      links: [{ href: '/pos/operator', text: 'Оператор платформы' }],
    });
  }

  /** A DomainError from a service: the tab again with the message and the fields marked. */
  async failed(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    error: unknown,
    state: Omit<OperatorViewState, 'status'>,
  ): Promise<void> {
    if (!(error instanceof DomainError)) throw error;
    await this.render(request, response, session, {
      ...state,
      status: error.status,
      errors: error.errors,
      notice: {
        kind: 'error',
        text: error.errors ? 'Проверьте поля, отмеченные ниже' : error.message,
      },
    });
  }

  async render(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    state: OperatorViewState,
  ): Promise<void> {
    const user = session.user;
    const data: Record<string, unknown> = {};
    if (state.tab === 'organizations') Object.assign(data, await this.organizations(user, state));
    if (state.tab === 'operators') {
      data.operators = (await this.roster.list()).map((operator) => ({
        id: operator.id,
        login: operator.login,
        name: fullName(operator),
        email: operator.email,
        self: operator.id === user.id,
      }));
    }
    if (state.tab === 'users') {
      const q = state.q ?? '';
      const page = await this.users.search(user, q, state.after ?? null);
      const withFactor = await this.users.withSecondFactor(page.users.map((found) => found.id));
      data.q = q;
      data.users = page.users.map((found) => ({
        id: found.id,
        login: found.login,
        name: fullName(found),
        email: found.email,
        status: found.status,
        statusName: USER_STATUS_NAMES[found.status] ?? found.status,
        operator: found.isPlatformOperator,
        secondFactor: withFactor.has(found.id),
        self: found.id === user.id,
      }));
      data.nextHref = page.next ? operatorUrl('users', { q, after: page.next }) : null;
      data.firstHref = state.after ? operatorUrl('users', { q }) : null;
    }
    if (state.tab === 'clients') {
      data.clients = (await this.clients.list()).map((client) => ({
        clientId: client.clientId,
        name: client.name,
        isPublic: client.isPublic,
        type: CLIENT_TYPE_NAMES[client.isPublic ? 'public' : 'confidential'],
        acr: client.requiredAcr
          ? (CLIENT_ACR_NAMES[client.requiredAcr] ?? client.requiredAcr)
          : null,
        redirectUris: client.redirectUris,
        firstParty: client.firstParty,
        disabled: client.disabledAt ? date(client.disabledAt) : null,
      }));
    }
    this.pages.send(response, state.status, 'operator', {
      nav: await this.pageSessions.nav(request, response, session, 'operator'),
      csrf: this.csrf.token(request, response),
      tab: state.tab,
      tabs: OPERATOR_TABS.map((code) => ({
        code,
        name: OPERATOR_TAB_NAMES[code],
        href: operatorUrl(code),
      })),
      form: state.form,
      values: state.values ?? {},
      errors: state.errors ?? {},
      notice: state.notice,
      ...data,
    });
  }

  /**
   * A client's credentials after «Новое приложение» or «Выпустить новый секрет»: the secret is
   * in this answer to the POST only (the renderer sends every page with `no-store`), never in an
   * address or a redirect; reloading the page opens the list, not the POST again.
   */
  async credentials(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    shown: { kind: 'created' | 'rotated'; client: OidcClient; clientSecret: string | null },
  ): Promise<void> {
    this.pages.send(response, 200, 'operator-client-credentials', {
      nav: await this.pageSessions.nav(request, response, session, 'operator'),
      pageUrl: operatorUrl('clients'),
      kind: shown.kind,
      texts: CLIENT_CREDENTIALS_TEXTS[shown.kind],
      name: shown.client.name,
      clientId: shown.client.clientId,
      clientSecret: shown.clientSecret,
      discoveryUrl: `${this.config.publicUrl}${DISCOVERY_PATH}`,
      backHref: operatorUrl('clients'),
    });
  }

  /** The tree in path order, and the chosen organisation's panel with where it may move. */
  private async organizations(user: User, state: OperatorViewState) {
    const all = await this.tree.all(user);
    const rows = all.map((organization) => ({
      id: organization.id,
      name: organization.name,
      kind: organization.kind,
      kindName: ORGANIZATION_KINDS[organization.kind] ?? organization.kind,
      lkoNumber: String(organization.lkoNumber),
      depth: depth(organization),
      href: `${operatorUrl('organizations', { org: organization.id })}#org-panel`,
    }));
    const chosenId =
      state.organizationId && isId(state.organizationId) ? state.organizationId : null;
    const chosen = all.find((organization) => organization.id === chosenId);
    if (!chosen) return { tree: rows, selected: null };
    return {
      tree: rows,
      selected: {
        ...rows.find((row) => row.id === chosen.id)!,
        parentId: chosen.parent?.id ?? null,
        canBeTop: chosen.kind === OrganizationKind.Authority,
        // Anywhere but inside itself.
        moveTargets: rows.filter((_, index) => !chosen.contains(all[index])),
      },
    };
  }
}
