import { Injectable } from '@nestjs/common';
import { type User } from '../identity/user.entity.js';
import { type Organization, OrganizationKind } from '../pos/organization.entity.js';
import { PublicStatusService } from '../pos/public-status.service.js';
import {
  authorityRollups,
  filterStatus,
  MEMBER_STATES,
  type MemberState,
  parseStatusQuery,
  STATUS_FILTER_NAMES,
  STATUS_FILTERS,
  type StatusQuery,
  statusTotals,
  widgetState,
} from '../pos/report-table.js';
import { ReportService } from '../pos/report.service.js';

/** Rows of the status table on the page; the downloads have them all. */
const STATUS_ROWS_SHOWN = 300;

export const MEMBER_STATE_NAMES: Record<MemberState, string> = {
  invited: 'Приглашены',
  registered: 'Зарегистрированы',
  confirmed: 'Подтверждены',
  archived: 'В архиве',
};

function query(params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => Boolean(e[1]));
  return new URLSearchParams(entries).toString();
}

/** A member list of one organisation filtered by state (the members tab reads `status`). */
export function membersHref(organizationId: string, state: MemberState): string {
  return `/pos/admin?${query({ org: organizationId, tab: 'members', status: state })}`;
}

/**
 * The «Статус подключения» tab: filters, the table with its totals row, roll-ups per authority,
 * the drill-down to the accounts of one state, downloads, and the public page's address.
 */
@Injectable()
export class StatusTab {
  constructor(
    private readonly reports: ReportService,
    private readonly publicStatus: PublicStatusService,
  ) {}

  async data(
    user: User,
    organization: Pick<Organization, 'id' | 'kind'>,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const filters: StatusQuery = parseStatusQuery(params.filter, params.authority);
    const state = MEMBER_STATES.find((s) => s === params.state);
    const all = await this.reports.connectionStatus(user, organization.id);
    const rows = filterStatus(all, filters);
    const tabHref = (extra: Record<string, string | undefined>) =>
      `/pos/admin?${query({ org: organization.id, tab: 'status', ...extra })}`;
    const download = (format: string) =>
      `/api/v1/pos/organizations/${organization.id}/connection-status?${query({ format, ...filters })}`;
    return {
      status: {
        rows: rows.slice(0, STATUS_ROWS_SHOWN).map((row) => ({
          ...row,
          widget: widgetState(row),
          drill: MEMBER_STATES.map((s) => ({
            state: s,
            count: row.accounts[s],
            href: membersHref(row.id, s),
          })),
        })),
        totalRows: rows.length,
        totals: statusTotals(rows),
        stateLinks: MEMBER_STATES.map((s) => ({
          state: s,
          name: MEMBER_STATE_NAMES[s],
          href: tabHref({ ...filters, state: s }) + '#drill-down',
        })),
        filter: filters.filter ?? '',
        filters: STATUS_FILTERS.map((code) => ({ code, name: STATUS_FILTER_NAMES[code] })),
        authority: filters.authority ?? '',
        authorities: authorityRollups(all).map((row) => ({ ...row, widget: undefined })),
        csvUrl: download('csv'),
        xlsxUrl: download('xlsx'),
        resetHref: tabHref({}),
        drillDown: state && {
          state,
          name: MEMBER_STATE_NAMES[state],
          members: await this.reports.membersInState(user, organization.id, state),
        },
        publication:
          organization.kind === OrganizationKind.Authority
            ? { link: await this.publicStatus.current(user, organization.id) }
            : null,
      },
    };
  }
}
