import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ValidationFailedError } from '../common/errors.js';
import { type User } from '../identity/user.entity.js';
import {
  MEMBER_PAGE_SIZE,
  MEMBER_SORTS,
  type MemberCounts,
  type MemberListQuery,
  type MemberPage,
  type MemberSort,
} from './dto/member-list.dto.js';
import { MemberResponse } from './dto/member.dto.js';
import { Membership } from './membership.entity.js';
import { PosAccess } from './pos-access.service.js';

/**
 * What a sort orders by: an SQL expression (the same text as the indexes of migration
 * Migration20261202171500, so PostgreSQL can walk them), the type its cursor value is cast back
 * to, and the check a cursor value must pass before it reaches the database.
 */
const KEYS = {
  name: {
    sql: `pos_fold(m.last_name || ' ' || m.first_name || ' ' || coalesce(m.middle_name, '')) collate "C"`,
    cast: 'text',
    valid: (value: string) => value.length <= 400,
  },
  email: {
    sql: `m.email collate "C"`,
    cast: 'text',
    valid: (value: string) => value.length <= 254,
  },
  status: {
    sql: `array_position(array['invited','registered','confirmed','archived']::text[], m.status::text)`,
    cast: 'int',
    valid: (value: string) => /^[1-4]$/.test(value),
  },
  invited: {
    sql: 'm.created_at',
    cast: 'timestamptz',
    valid: (value: string) => isTimestamp(value),
  },
} as const;

/**
 * A timestamp as PostgreSQL prints it (`2026-12-02 10:00:00.123+03`) that is also a real instant:
 * a forged cursor with month 99 or 31 February would otherwise fail the cast (a 500).
 */
function isTimestamp(value: string): boolean {
  const match =
    /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d{1,6})?[+-](\d\d)(?::(\d\d))?$/.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second, , offsetHours, offsetMinutes] = match
    .slice(1)
    .map((part) => (part === undefined || part.startsWith('.') ? 0 : Number(part)));
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetHours <= 15 &&
    offsetMinutes < 60
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A position in one sort order: after (`n`) or before (`p`) the row with this key and id. */
interface Cursor {
  sort: MemberSort;
  direction: 'n' | 'p';
  key: string;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(
    JSON.stringify([cursor.sort, cursor.direction, cursor.key, cursor.id]),
  ).toString('base64url');
}

const invalidCursor = () =>
  new ValidationFailedError({
    cursor: [
      {
        code: 'invalid_cursor',
        message: 'Ссылка на страницу списка устарела или повреждена: откройте список заново',
      },
    ],
  });

/** An opaque cursor back; anything that is not one this service made for `sort` is a 422. */
function decodeCursor(text: string, sort: MemberSort): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw invalidCursor();
  const [s, direction, key, id] = parsed as unknown[];
  if (s !== sort || (direction !== 'n' && direction !== 'p')) throw invalidCursor();
  if (typeof key !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw invalidCursor();
  if (!KEYS[sort.replace('-', '') as keyof typeof KEYS].valid(key)) throw invalidCursor();
  return { sort, direction, key, id };
}

/** Case folding the way pos_fold() does it in the database (lower case, ё as е). */
export function foldForSearch(text: string): string {
  return text.toLowerCase().replaceAll('ё', 'е');
}

const escapeLike = (term: string): string => term.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The member list of one organisation at any size: search, filters, sort and keyset pages
 * (no OFFSET: a page costs the same wherever it is, and rows added meanwhile do not shift it).
 */
@Injectable()
export class MemberList {
  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
  ) {}

  async page(user: User, organizationId: string, query: MemberListQuery): Promise<MemberPage> {
    const organization = await this.access.administered(user, organizationId);
    const sort: MemberSort = query.sort ?? 'name';
    if (!MEMBER_SORTS.includes(sort)) throw invalidCursor();
    const descending = sort.startsWith('-');
    const key = KEYS[sort.replace('-', '') as keyof typeof KEYS];
    const limit = query.limit ?? MEMBER_PAGE_SIZE;
    const cursor = query.cursor ? decodeCursor(query.cursor, sort) : null;
    const status = query.status ?? (query.archived === 'true' ? 'archived' : undefined);

    // The conditions every count shares: the organisation, the role, the search.
    const shared: string[] = ['m.organization_id = ?'];
    const sharedParams: unknown[] = [organization.id];
    if (query.role) {
      shared.push('? = any(m.roles)');
      sharedParams.push(query.role);
    }
    const search = query.search?.trim();
    if (search) {
      const like = `%${escapeLike(foldForSearch(search))}%`;
      shared.push(`(${KEYS.name.sql} like ? or m.email collate "C" like ?)`);
      sharedParams.push(like, like);
    }

    const where = [...shared, status ? 'm.status = ?' : `m.status <> 'archived'`];
    const params = [...sharedParams, ...(status ? [status] : [])];
    // Backwards (towards «Предыдущие»), the order flips and the rows are turned round after.
    const backwards = cursor?.direction === 'p';
    const ascending = descending === backwards;
    if (cursor) {
      where.push(`(${key.sql}, m.id) ${ascending ? '>' : '<'} (?::${key.cast}, ?::uuid)`);
      params.push(cursor.key, cursor.id);
    }
    const order = ascending ? 'asc' : 'desc';
    const rows = await this.em.execute<{ id: string; k: string }[]>(
      `select m.id, (${key.sql})::text as k from pos_memberships m where ${where.join(' and ')}
       order by ${key.sql} ${order}, m.id ${order} limit ?`,
      [...params, limit + 1],
    );
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    if (backwards) page.reverse();

    const members = await this.em.find(Membership, { id: { $in: page.map((row) => row.id) } });
    const byId = new Map(members.map((member) => [member.id, member]));
    const first = page[0];
    const last = page[page.length - 1];
    const at = (direction: 'n' | 'p', row: { id: string; k: string }) =>
      encodeCursor({ sort, direction, key: row.k, id: row.id });
    return {
      items: page.map((row) => MemberResponse.of(byId.get(row.id)!)),
      counts: await this.counts(shared, sharedParams),
      nextCursor: last && (backwards || more) ? at('n', last) : null,
      prevCursor: first && (backwards ? more : cursor !== null) ? at('p', first) : null,
    };
  }

  private async counts(where: string[], params: unknown[]): Promise<MemberCounts> {
    const rows = await this.em.execute<{ status: keyof MemberCounts; n: string }[]>(
      `select m.status, count(*) as n from pos_memberships m where ${where.join(' and ')} group by m.status`,
      params,
    );
    const counts: MemberCounts = { invited: 0, registered: 0, confirmed: 0, archived: 0 };
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }
}
