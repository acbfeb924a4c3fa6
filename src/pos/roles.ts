import { readFileSync } from 'node:fs';

export const ROLE_CODES = [
  'admin',
  'moderator',
  'coordinator',
  'executor',
  'head',
  'curator',
  'intake_operator',
] as const;
export type PosRole = (typeof ROLE_CODES)[number];
export type PosArea = 'admin' | 'backoffice';

interface RoleDefinition {
  code: PosRole;
  /** The Russian name people see. */
  name: string;
  area: PosArea;
}

/** The role matrix is data (config/roles.json); the codes are fixed here so the compiler knows them. */
export const ROLES: readonly RoleDefinition[] = (() => {
  const file = JSON.parse(
    readFileSync(new URL('../../config/roles.json', import.meta.url), 'utf8'),
  ) as { roles: RoleDefinition[] };
  const codes = file.roles.map((role) => role.code);
  if (codes.length !== ROLE_CODES.length || ROLE_CODES.some((code) => !codes.includes(code))) {
    throw new Error(`config/roles.json must define exactly the roles ${ROLE_CODES.join(', ')}`);
  }
  return file.roles;
})();

export function roleName(code: PosRole): string {
  return ROLES.find((role) => role.code === code)!.name;
}

export function rolesOfArea(area: PosArea): PosRole[] {
  return ROLES.filter((role) => role.area === area).map((role) => role.code);
}
