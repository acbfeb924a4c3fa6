/**
 * Statements several migrations spell alike, written once. They must render exactly the SQL the
 * migrations sent when they were applied: MikroORM knows an applied migration by its name only.
 */

/** `"table.column"` split into its two names. */
function column(qualified: string): [table: string, column: string] {
  const parts = qualified.split('.');
  if (parts.length !== 2 || parts.some((part) => part === '')) {
    throw new Error(`expected "table.column", got "${qualified}"`);
  }
  return [parts[0], parts[1]];
}

/**
 * `foreignKey('sessions.user_id', 'users.id', 'cascade')`: the constraint
 * "sessions_user_id_foreign", named as MikroORM names it, so the entities' schema diff finds it.
 */
export function foreignKey(
  from: string,
  references: string,
  onDelete: 'cascade' | 'restrict',
): string {
  const [table, name] = column(from);
  const [target, targetColumn] = column(references);
  return `alter table "${table}" add constraint "${table}_${name}_foreign" foreign key ("${name}") references "${target}" ("${targetColumn}") on delete ${onDelete};`;
}

/** The constraint foreignKey(from, …) added. */
export function dropForeignKey(from: string): string {
  const [table, name] = column(from);
  return `alter table "${table}" drop constraint "${table}_${name}_foreign";`;
}

/**
 * A trigger function that announces committed changes on the channel `identity_link_auth`, which
 * every instance's session cache listens to. Fired for a truncate (per statement) it announces
 * `*`, everything; `forRows` is the rest of its body, which announces the changed rows.
 */
export function authNoticeFunction(name: string, forRows: string): string {
  return `create function "${name}"() returns trigger language plpgsql as $$
begin
  if tg_level = 'STATEMENT' then
    perform pg_notify('identity_link_auth', '*');
${forRows}
end
$$;`;
}

/** A truncate of `table` announced by the trigger function `fn` (see authNoticeFunction). */
export function truncateNotice(table: string, fn: string): string {
  return `create trigger "${table}_auth_truncated" after truncate on "${table}" for each statement execute function "${fn}"();`;
}
