import { HttpStatus, Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors.js';
import { type User } from '../../identity/user.entity.js';
import {
  MEMBER_SORTS,
  MEMBER_STATUSES,
  memberListQuery,
  type MemberPage,
} from '../../pos/dto/member-list.dto.js';
import { MemberList } from '../../pos/member-list.service.js';
import { STATUS_NAMES } from '../../pos/pos.texts.js';
import { ROLES } from '../../pos/roles.js';

/** The list's own query parameters, kept across its links and its forms (`back`). */
export const LIST_PARAMS = ['search', 'status', 'role', 'sort', 'cursor'] as const;

const SORT_NAMES: Record<(typeof MEMBER_SORTS)[number], string> = {
  name: 'ФИО (А–Я)',
  '-name': 'ФИО (Я–А)',
  email: 'E-mail (A–Z)',
  '-email': 'E-mail (Z–A)',
  status: 'Статус: сначала приглашённые',
  '-status': 'Статус: сначала подтверждённые',
  invited: 'Дата приглашения: сначала ранние',
  '-invited': 'Дата приглашения: сначала новые',
};

/** `/pos/admin?org=…&tab=members&…`, with the list's parameters that are set. */
export function membersUrl(
  organizationId: string,
  tab: 'members' | 'archive',
  params: Partial<Record<string, string>>,
  notice?: string,
): string {
  const query = new URLSearchParams({ org: organizationId, tab });
  for (const name of LIST_PARAMS) {
    const value = params[name];
    if (value) query.set(name, value);
  }
  if (notice) query.set('notice', notice);
  return `/pos/admin?${query.toString()}`;
}

/** The list parameters of a query (a page's query or a form's `back`), strings only. */
export function listParams(source: Record<string, unknown>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of LIST_PARAMS) {
    const value = source[name];
    if (typeof value === 'string' && value !== '') params[name] = value;
  }
  return params;
}

/**
 * The members and archive tabs: the same query, checks and keyset pages as the API
 * (`GET /api/v1/pos/organizations/:id/members`), shaped for the template. A bad parameter (a
 * link edited by hand, a cursor from another sort order) shows the first page and says so.
 */
@Injectable()
export class MembersListView {
  constructor(private readonly list: MemberList) {}

  async view(
    user: User,
    organizationId: string,
    tab: 'members' | 'archive',
    query: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const asked = listParams(query);
    if (tab === 'archive') asked.status = 'archived';
    else if (asked.status === 'archived') delete asked.status;
    let params = asked;
    let page: MemberPage;
    let listError: string | null = null;
    try {
      page = await this.list.page(user, organizationId, await memberListQuery(asked));
    } catch (error) {
      if (!(error instanceof DomainError) || error.status !== HttpStatus.UNPROCESSABLE_ENTITY)
        throw error;
      listError =
        'Параметры списка указаны с ошибкой или ссылка устарела: показана первая страница';
      params = tab === 'archive' ? { status: 'archived' } : {};
      page = await this.list.page(user, organizationId, params);
    }
    const link = (changes: Record<string, string | undefined>) =>
      membersUrl(organizationId, tab, { ...params, cursor: undefined, ...changes });
    const counts = page.counts;
    const live = counts.invited + counts.registered + counts.confirmed;
    const { cursor: _cursor, ...withoutCursor } = params;
    const sent = typeof query.sent === 'string' && /^\d{1,6}$/.test(query.sent) ? query.sent : null;
    const skipped =
      typeof query.skipped === 'string' && /^\d{1,6}$/.test(query.skipped) ? query.skipped : null;
    return {
      members: page.items,
      counts,
      list: {
        params,
        error: listError,
        search: params.search ?? '',
        status: params.status ?? '',
        role: params.role ?? '',
        sort: params.sort ?? 'name',
        filtered: Boolean(params.search || params.role || (tab === 'members' && params.status)),
        statusLinks:
          tab === 'archive'
            ? []
            : [
                {
                  code: '',
                  name: 'Все, кроме архива',
                  count: live,
                  href: link({ status: undefined }),
                },
                ...MEMBER_STATUSES.filter((s) => s !== 'archived').map((code) => ({
                  code,
                  name: STATUS_NAMES[code],
                  count: counts[code],
                  href: link({ status: code }),
                })),
              ],
        roles: ROLES,
        sorts: MEMBER_SORTS.map((code) => ({ code, name: SORT_NAMES[code] })),
        shown:
          tab === 'archive'
            ? counts.archived
            : params.status
              ? counts[params.status as keyof typeof counts]
              : live,
        nextHref: page.nextCursor ? link({ ...withoutCursor, cursor: page.nextCursor }) : null,
        prevHref: page.prevCursor ? link({ ...withoutCursor, cursor: page.prevCursor }) : null,
        resetHref: membersUrl(organizationId, tab, {}),
        // The list's position, posted back by each row's forms so the page comes back to it.
        back: new URLSearchParams(params).toString(),
        resentAll: sent !== null && skipped !== null ? { sent, skipped } : null,
      },
    };
  }
}
