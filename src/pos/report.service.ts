import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type User } from '../identity/user.entity.js';
import { type WidgetCheckState } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
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
    const root = await this.access.administered(user, organizationId);
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
}

const HEADERS = [
  'Номер ЛКО',
  'Организация',
  'Тип',
  'Уровень',
  'Приглашены',
  'Зарегистрированы',
  'Подтверждены',
  'В архиве',
  'Администратор подтверждён',
  'ЛКО готов к работе',
  'Виджет размещён',
  'Организаций в поддереве',
  'Подтверждены в поддереве',
  'ЛКО готовы в поддереве',
];

/**
 * One CSV cell that a spreadsheet shows as text, whichever separator it picks (`;` or `,`) and
 * whether or not it honours quotes: a cell with a separator, quote or line break is quoted, and a
 * formula character (OWASP's = + - @ TAB CR) is neutralised with `'` where a cell could start —
 * at the beginning and right after a separator inside the text.
 */
export function csvCell(value: string | number): string {
  const text = String(value);
  if (!/[;,"\n\r]|^[=+\-@\t\r]/.test(text)) return text;
  const inert = text.replace(/(^|[;,])([=+\-@\t\r])/g, "$1'$2");
  return `"${inert.replace(/"/g, '""')}"`;
}

/** CSV for spreadsheet users in Russia: `;` separated, UTF-8 with a byte-order mark. */
export function statusCsv(rows: StatusRow[]): string {
  const yes = (value: boolean) => (value ? 'да' : 'нет');
  const lines = rows.map((row) =>
    [
      row.lkoNumber,
      row.name,
      row.kind === 'authority' ? 'Орган администрации' : 'Учреждение',
      row.depth,
      row.accounts.invited,
      row.accounts.registered,
      row.accounts.confirmed,
      row.accounts.archived,
      yes(row.adminConfirmed),
      yes(row.lkoReady),
      row.widgetPlacement.text,
      row.subtree.organizations,
      row.subtree.confirmed,
      row.subtree.lkoReady,
    ]
      .map(csvCell)
      .join(';'),
  );
  return '\uFEFF' + [HEADERS.join(';'), ...lines].join('\r\n') + '\r\n';
}
