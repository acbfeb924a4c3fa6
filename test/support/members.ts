import { randomUUID } from 'node:crypto';
import { type EntityManager } from '@mikro-orm/postgresql';
import { MEMBER_SORTS, type MemberSort } from '../../src/pos/dto/member-list.dto.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { type Organization } from '../../src/pos/organization.entity.js';
import { type PosRole } from '../../src/pos/roles.js';

/** One fixture member, as the reference computation sees it. */
export interface FixtureMember {
  id: string;
  email: string;
  lastName: string;
  firstName: string;
  middleName: string | null;
  roles: PosRole[];
  status: MembershipStatus;
  createdAt: Date;
}

const LAST = ['Иванов', 'Ёлкин', 'Алёшина', 'Петрова', 'Smith', 'Сидоров', 'иванова', 'Орлов'];
const FIRST = ['Анна', 'Пётр', 'Мария', 'John', 'Олег', 'Ёжик'];
const MIDDLE = ['Павловна', null, 'Игоревич', 'Сергеевна', null];
const STATUSES = [
  MembershipStatus.Invited,
  MembershipStatus.Registered,
  MembershipStatus.Confirmed,
  MembershipStatus.Invited,
  MembershipStatus.Archived,
];
const ROLE_SETS: PosRole[][] = [['executor'], ['moderator', 'executor'], ['admin'], ['head']];

/**
 * `count` members of `organization`, inserted in one statement (a fixture, not the operation
 * under test). Names repeat, so every sort needs its tie-breaker; creation times repeat too.
 */
export async function insertMembers(
  em: EntityManager,
  organization: Organization,
  count: number,
  tag: string,
): Promise<FixtureMember[]> {
  const base = Date.parse('2026-09-01T08:00:00Z');
  const members: FixtureMember[] = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    email: `${['a', 'b', 'z', 'm'][i % 4]}${String((i * 37) % count).padStart(3, '0')}.${tag}@school${i % 7}.example.ru`,
    lastName: LAST[i % LAST.length],
    firstName: FIRST[(i * 5) % FIRST.length],
    middleName: MIDDLE[i % MIDDLE.length],
    roles: ROLE_SETS[(i * 3) % ROLE_SETS.length],
    status: STATUSES[i % STATUSES.length],
    createdAt: new Date(base + ((i * 13) % 97) * 60_000),
  }));
  await em.insertMany(
    Membership,
    members.map((m) => ({ ...m, organization: organization.id, updatedAt: m.createdAt })),
  );
  return members;
}

/** The fold pos_fold() applies in the database. */
const fold = (text: string) => text.toLowerCase().replaceAll('ё', 'е');
const STATUS_ORDER = ['invited', 'registered', 'confirmed', 'archived'];
const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

function keyOf(member: FixtureMember, sort: string): string | number {
  switch (sort) {
    case 'name':
      return fold(`${member.lastName} ${member.firstName} ${member.middleName ?? ''}`);
    case 'email':
      return member.email;
    case 'status':
      return STATUS_ORDER.indexOf(member.status);
    default:
      return member.createdAt.getTime();
  }
}

/** What the list should answer, computed here from the fixture: filter, then sort by key and id. */
export function expected(
  members: FixtureMember[],
  query: { search?: string; status?: string; role?: PosRole; sort?: MemberSort },
): FixtureMember[] {
  const sort = query.sort ?? 'name';
  const sign = sort.startsWith('-') ? -1 : 1;
  const field = sort.replace('-', '');
  const search = query.search ? fold(query.search.trim()) : null;
  return members
    .filter((m) =>
      query.status
        ? m.status === (query.status as MembershipStatus)
        : m.status !== MembershipStatus.Archived,
    )
    .filter((m) => !query.role || m.roles.includes(query.role))
    .filter(
      (m) => !search || keyOf(m, 'name').toString().includes(search) || m.email.includes(search),
    )
    .sort((a, b) => sign * (compare(keyOf(a, field), keyOf(b, field)) || compare(a.id, b.id)));
}

export const SORTS = MEMBER_SORTS;
