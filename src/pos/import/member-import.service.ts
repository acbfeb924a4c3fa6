import { EntityManager, RequestContext } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../../audit/audit.service.js';
import { type ClientInfo } from '../../common/client-info.js';
import { DomainError, ValidationFailedError } from '../../common/errors.js';
import { validatePayload } from '../../common/validation.js';
import { AppConfig } from '../../config/app-config.js';
import { normalizeEmail } from '../../identity/normalize.js';
import { type User } from '../../identity/user.entity.js';
import { AddMemberDto } from '../dto/member.dto.js';
import { Invitations } from '../invitations.service.js';
import { MembersService } from '../members.service.js';
import { Membership, MembershipStatus } from '../membership.entity.js';
import { Organization } from '../organization.entity.js';
import { type PosRole, ROLES } from '../roles.js';
import { GOOD_OUTCOMES, OUTCOME_TEXTS, type RowOutcome } from './import.texts.js';
import { type RawRow, readMemberFile } from './member-file.js';

export interface ImportRowResult {
  /** The row's line in the file (the header is row 1). */
  row: number;
  lastName: string;
  firstName: string;
  middleName: string;
  email: string;
  roles: PosRole[];
  organizationId: string | null;
  lkoNumber: string | null;
  outcome: RowOutcome;
  /** The outcome in Russian, with the detail (the unknown role, the first row of a duplicate). */
  message: string;
  membershipId?: string;
}

export interface ImportResult {
  dryRun: boolean;
  organizationId: string;
  total: number;
  /** Rows that are (dry run: would be) invited, and the rest. */
  invited: number;
  refused: number;
  counts: Partial<Record<RowOutcome, number>>;
  rows: ImportRowResult[];
}

interface Planned {
  result: ImportRowResult;
  dto?: AddMemberDto;
}

/** Rows imported at once: well under the connection pool, so other requests still get one. */
const IMPORT_CONCURRENCY = 4;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const roleKey = (text: string) => text.trim().toLowerCase().replace(/ё/g, 'е');
const ROLE_LOOKUP = new Map<string, PosRole>(
  ROLES.flatMap((role) => [
    [roleKey(role.code), role.code],
    [roleKey(role.name), role.code],
  ]),
);

/** Which outcome a field's validation error means. */
const FIELD_OUTCOMES: Record<string, RowOutcome> = {
  email: 'invalid_email',
  lastName: 'invalid_name',
  firstName: 'invalid_name',
  middleName: 'invalid_name',
  snils: 'invalid_snils',
  roles: 'unknown_role',
};

/** What a refusal of «Добавить пользователя» means for the row. */
const REFUSAL_OUTCOMES: Record<string, RowOutcome> = {
  email_taken: 'email_taken',
  organization_not_found: 'organization_outside',
  snils_not_requested: 'snils_not_requested',
};

/**
 * «Импорт из файла»: every row checked as «Добавить пользователя» checks it (the same DTO, the
 * organisation within the subtree being imported into), the dry run saying what would happen.
 * The import checks again (the file or the database may have changed since the dry run) and adds
 * each row through MembersService.add — one transaction per row, so a bad row never stops or
 * half-writes another, and each invitation goes out through the mail outbox.
 */
@Injectable()
export class MemberImport {
  private readonly logger = new Logger('MemberImport');

  constructor(
    private readonly em: EntityManager,
    private readonly members: MembersService,
    private readonly invitations: Invitations,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async run(
    actor: User | 'cli',
    organizationId: string,
    file: Buffer,
    dryRun: boolean,
    client?: ClientInfo,
  ): Promise<ImportResult> {
    const root = await this.members.administered(actor, organizationId);
    const planned = await this.plan(root, await readMemberFile(file));
    // The day's invitation cap, for every organisation the file invites into: the dry run says
    // so, and the import is refused as a whole rather than stopping half way.
    const needed = new Map<string, number>();
    for (const { dto, result } of planned)
      if (dto && result.organizationId)
        needed.set(result.organizationId, (needed.get(result.organizationId) ?? 0) + 1);
    await this.invitations.assertDailyRoom(this.em, needed);
    if (!dryRun) {
      // Rows are independent (one address once per file, each in its own transaction): a few at
      // a time, so the database's round trips overlap, within the connection pool.
      const queue = planned.filter((p) => p.dto && p.result.organizationId);
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift())
          await this.invite(actor, next.result, next.dto!, client);
      };
      await Promise.all(Array.from({ length: IMPORT_CONCURRENCY }, worker));
    }
    const rows = planned.map((p) => p.result);
    const counts: ImportResult['counts'] = {};
    for (const row of rows) counts[row.outcome] = (counts[row.outcome] ?? 0) + 1;
    const invited = rows.filter((row) => GOOD_OUTCOMES.includes(row.outcome)).length;
    const result = {
      dryRun,
      organizationId: root.id,
      total: rows.length,
      invited,
      refused: rows.length - invited,
      counts,
      rows,
    };
    // Every dry run too: it reads the subtree's memberships in bulk. Counts only, never a row.
    await this.audit.write({
      type: dryRun ? 'pos.member.import_checked' : 'pos.member.import',
      actorUserId: actor === 'cli' ? null : actor.id,
      organizationId: root.id,
      client,
      details: { total: result.total, invited, refused: result.refused, counts },
    });
    return result;
  }

  private async invite(
    actor: User | 'cli',
    result: ImportRowResult,
    dto: AddMemberDto,
    client?: ClientInfo,
  ): Promise<void> {
    try {
      // Each row in a unit of work of its own: the request's identity map would otherwise collect
      // every row's entities, and each flush would look at all of them (quadratic in the rows).
      const member = await RequestContext.create(this.em.fork(), () =>
        this.members.add(actor, result.organizationId!, dto, client, 'import'),
      );
      this.settle(result, 'invited');
      result.membershipId = member.id;
    } catch (error) {
      if (!(error instanceof DomainError))
        this.logger.error({ err: error, row: result.row }, 'import row failed');
      const outcome =
        error instanceof DomainError ? (REFUSAL_OUTCOMES[error.code] ?? 'failed') : 'failed';
      this.settle(
        result,
        outcome,
        outcome === 'failed' && error instanceof DomainError ? error.message : undefined,
      );
    }
  }

  private settle(result: ImportRowResult, outcome: RowOutcome, detail?: string): void {
    result.outcome = outcome;
    result.message = detail ? `${OUTCOME_TEXTS[outcome]}: ${detail}` : OUTCOME_TEXTS[outcome];
  }

  /** Each row's outcome as of now, and the checked input of the rows that can be invited. */
  private async plan(root: Organization, rows: RawRow[]): Promise<Planned[]> {
    const targets = await this.targets(root, rows);
    const snilsAsked = this.config.gosuslugi.scopes.split(' ').includes('snils');
    const firstRow = new Map<string, number>();
    const planned: Planned[] = [];
    for (const { row, cells } of rows) {
      const target = cells.organization ? targets.get(cells.organization) : root;
      const result: ImportRowResult = {
        row,
        lastName: cells.lastName ?? '',
        firstName: cells.firstName ?? '',
        middleName: cells.middleName ?? '',
        email: cells.email ?? '',
        roles: [],
        organizationId: target?.id ?? null,
        lkoNumber: target ? String(target.lkoNumber) : (cells.organization ?? null),
        outcome: 'will_invite',
        message: OUTCOME_TEXTS.will_invite,
      };
      planned.push({ result });
      const roleNames = (cells.roles ?? '').split(/[,;|\n]/).filter((r) => r.trim() !== '');
      const unknown = roleNames.find((name) => !ROLE_LOOKUP.has(roleKey(name)));
      result.roles = [
        ...new Set(roleNames.map((name) => ROLE_LOOKUP.get(roleKey(name))!).filter(Boolean)),
      ];
      if (!target) this.settle(result, 'organization_outside', cells.organization);
      else if (unknown !== undefined) this.settle(result, 'unknown_role', unknown.trim());
      else if (result.roles.length === 0) this.settle(result, 'roles_required');
      else if (cells.snils && !snilsAsked) this.settle(result, 'snils_not_requested');
      if (result.outcome !== 'will_invite') continue;
      let dto: AddMemberDto;
      try {
        dto = await validatePayload(AddMemberDto, {
          email: result.email,
          lastName: result.lastName,
          firstName: result.firstName,
          ...(cells.middleName && { middleName: cells.middleName }),
          ...(cells.snils && { snils: cells.snils }),
          roles: result.roles,
        });
      } catch (error) {
        if (!(error instanceof ValidationFailedError)) throw error;
        const [field, problems] = Object.entries(error.errors ?? {})[0] ?? ['', []];
        this.settle(result, FIELD_OUTCOMES[field] ?? 'invalid_name', problems[0]?.message);
        continue;
      }
      const email = normalizeEmail(dto.email);
      result.email = email;
      const first = firstRow.get(email);
      if (first !== undefined) {
        this.settle(result, 'duplicate_in_file', `как в строке ${first}`);
        continue;
      }
      firstRow.set(email, row);
      planned[planned.length - 1].dto = dto;
    }
    await this.markExisting(root, planned);
    return planned;
  }

  /**
   * Addresses already live in the subtree: in the row's own organisation «уже участник», in
   * another one of the subtree taken. An address live outside the subtree is not looked for: a
   * dry run of 5,000 rows must not tell an administrator who is a member elsewhere (it writes
   * nothing and mails no one). The import finds it taken when it adds the row, as «Добавить
   * пользователя» does, and audits that refusal (`pos.member.email_taken`).
   */
  private async markExisting(root: Organization, planned: Planned[]): Promise<void> {
    const candidates = planned.filter((p) => p.dto);
    if (candidates.length === 0) return;
    const live = await this.em.find(
      Membership,
      {
        email: { $in: candidates.map((p) => p.result.email) },
        status: { $ne: MembershipStatus.Archived },
        organization: { path: { $like: `${root.path}%` } },
      },
      { fields: ['email', 'organization'] },
    );
    const holder = new Map(live.map((m) => [m.email, m.organization.id]));
    for (const p of candidates) {
      const organizationId = holder.get(p.result.email);
      if (organizationId === undefined) continue;
      this.settle(
        p.result,
        organizationId === p.result.organizationId ? 'already_member' : 'email_taken',
      );
      p.dto = undefined;
    }
  }

  /** The organisations the rows name (id or ЛКО number), those within the root's subtree only. */
  private async targets(root: Organization, rows: RawRow[]): Promise<Map<string, Organization>> {
    const references = [...new Set(rows.map((r) => r.cells.organization).filter(Boolean))];
    const ids = references.filter((r) => UUID.test(r!)) as string[];
    const numbers = references.filter((r) => /^\d{1,18}$/.test(r!)) as string[];
    if (ids.length === 0 && numbers.length === 0) return new Map();
    const found = await this.em.find(Organization, {
      $or: [{ id: { $in: ids } }, { lkoNumber: { $in: numbers } }],
    });
    const map = new Map<string, Organization>();
    for (const organization of found) {
      if (!root.contains(organization)) continue;
      map.set(organization.id, organization);
      map.set(String(organization.lkoNumber), organization);
    }
    return map;
  }
}
