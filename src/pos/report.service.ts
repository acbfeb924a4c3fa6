import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type User } from '../identity/user.entity.js';
import { type Organization, type WidgetCheckState } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
import { type MemberState } from './report-table.js';
import { placementOf, type WidgetPlacement } from './widget-placement/placement-texts.js';

export interface StatusCounts {
  invited: number;
  registered: number;
  confirmed: number;
  archived: number;
}

export interface StatusRow {
  id: string;
  parentId: string | null;
  name: string;
  kind: string;
  lkoNumber: string;
  depth: number;
  accounts: StatusCounts;
  adminConfirmed: boolean;
  lkoReady: boolean;
  widgetGenerated: boolean;
  /** «Виджет размещён»: the last check of the official site (widget-placement/). */
  widgetPlacement: WidgetPlacement;
  /** This organisation and everything below it. */
  subtree: StatusCounts & {
    organizations: number;
    adminConfirmed: number;
    lkoReady: number;
    widgetGenerated: number;
    widgetFound: number;
  };
}

interface Raw {
  id: string;
  parent_id: string | null;
  name: string;
  kind: string;
  lko_number: string;
  path: string;
  invited: string;
  registered: string;
  confirmed: string;
  archived: string;
  admin_confirmed: boolean;
  lko_ready: boolean;
  widget_generated: boolean;
  widget_check_state: WidgetCheckState | null;
  widget_checked_at: Date | null;
  widget_check_reason: string | null;
}

/**
 * The connection status of a subtree: one query (a prefix match on the materialised path and
 * one aggregate over the memberships), then the roll-up in memory from the leaves up.
 */
@Injectable()
export class ReportService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
  ) {}

  async connectionStatus(user: User, organizationId: string): Promise<StatusRow[]> {
    return this.subtreeStatus(await this.access.administered(user, organizationId));
  }

  /** The status of `root`'s subtree, without an access check: the caller has made it. */
  async subtreeStatus(root: Organization): Promise<StatusRow[]> {
    const rows = await this.em.getConnection().execute<Raw[]>(
      `select o.id, o.parent_id, o.name, o.kind, o.lko_number::text as lko_number, o.path,
              coalesce(c.invited, 0) as invited, coalesce(c.registered, 0) as registered,
              coalesce(c.confirmed, 0) as confirmed, coalesce(c.archived, 0) as archived,
              coalesce(c.admin_confirmed, false) as admin_confirmed,
              o.ready_confirmed_at is not null as lko_ready,
              o.widget_generated_at is not null as widget_generated,
              o.widget_check_state, o.widget_checked_at, o.widget_check_reason
         from pos_organizations o
         left join (
           select m.organization_id,
                  count(*) filter (where m.status = 'invited') as invited,
                  count(*) filter (where m.status = 'registered') as registered,
                  count(*) filter (where m.status = 'confirmed') as confirmed,
                  count(*) filter (where m.status = 'archived') as archived,
                  bool_or(m.status = 'confirmed' and 'admin' = any(m.roles)) as admin_confirmed
             from pos_memberships m
             join pos_organizations s on s.id = m.organization_id and s.path like ?
            group by m.organization_id
         ) c on c.organization_id = o.id
        where o.path like ?
        order by o.path`,
      [`${root.path}%`, `${root.path}%`],
    );
    const rootDepth = root.path.split('/').filter(Boolean).length;
    const byId = new Map<string, StatusRow>();
    const result = rows.map((raw) => {
      const accounts = {
        invited: Number(raw.invited),
        registered: Number(raw.registered),
        confirmed: Number(raw.confirmed),
        archived: Number(raw.archived),
      };
      const row: StatusRow = {
        id: raw.id,
        parentId: raw.parent_id,
        name: raw.name,
        kind: raw.kind,
        lkoNumber: raw.lko_number,
        depth: raw.path.split('/').filter(Boolean).length - rootDepth,
        accounts,
        adminConfirmed: raw.admin_confirmed,
        lkoReady: raw.lko_ready,
        widgetGenerated: raw.widget_generated,
        widgetPlacement: placementOf({
          widgetCheckState: raw.widget_check_state,
          widgetCheckedAt: raw.widget_checked_at ? new Date(raw.widget_checked_at) : null,
          widgetCheckReason: raw.widget_check_reason,
        }),
        subtree: {
          ...accounts,
          organizations: 1,
          adminConfirmed: Number(raw.admin_confirmed),
          lkoReady: Number(raw.lko_ready),
          widgetGenerated: Number(raw.widget_generated),
          widgetFound: Number(raw.widget_check_state === 'found'),
        },
      };
      byId.set(row.id, row);
      return row;
    });
    // Rows come in path order, so every child follows its parent: add them up from the end.
    for (let i = result.length - 1; i > 0; i--) {
      const row = result[i];
      const parent = row.parentId ? byId.get(row.parentId) : undefined;
      if (!parent) continue;
      for (const key of Object.keys(row.subtree) as (keyof StatusRow['subtree'])[])
        parent.subtree[key] += row.subtree[key];
    }
    return result;
  }

  /**
   * The drill-down: the accounts of the subtree in one state, each with the date its latest
   * invitation was sent, oldest invitation first (those are the ones to chase). At most `limit`.
   */
  async membersInState(
    user: User,
    organizationId: string,
    state: MemberState,
    limit = DRILL_DOWN_LIMIT,
  ): Promise<StateMember[]> {
    const root = await this.access.administered(user, organizationId);
    const rows = await this.em.getConnection().execute<RawMember[]>(
      `select m.id, m.last_name, m.first_name, m.middle_name, m.email,
              o.id as organization_id, o.name as organization_name, o.lko_number::text as lko_number,
              (select max(i.created_at) from pos_invitations i where i.membership_id = m.id)
                as last_invited_at
         from pos_memberships m
         join pos_organizations o on o.id = m.organization_id
        where o.path like ? and m.status = ?
        order by last_invited_at asc nulls first, o.path, m.last_name, m.first_name, m.id
        limit ?`,
      [`${root.path}%`, state, limit],
    );
    return rows.map((raw) => ({
      id: raw.id,
      name: [raw.last_name, raw.first_name, raw.middle_name].filter(Boolean).join(' '),
      email: raw.email,
      organizationId: raw.organization_id,
      organizationName: raw.organization_name,
      lkoNumber: raw.lko_number,
      lastInvitedAt: raw.last_invited_at ? new Date(raw.last_invited_at) : null,
    }));
  }
}

/** Rows of a drill-down list on the page. */
export const DRILL_DOWN_LIMIT = 500;

export interface StateMember {
  id: string;
  name: string;
  email: string;
  organizationId: string;
  organizationName: string;
  lkoNumber: string;
  lastInvitedAt: Date | null;
}

interface RawMember {
  id: string;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  email: string;
  organization_id: string;
  organization_name: string;
  lko_number: string;
  last_invited_at: Date | string | null;
}

/** The CSV writer lives in common/csv.ts; re-exported for the callers that import it from here. */
export { csvCell } from '../common/csv.js';
