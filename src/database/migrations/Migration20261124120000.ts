import { Migration } from '@mikro-orm/migrations';

/**
 * Every committed update or delete of a session or a user is announced on the channel
 * `identity_link_auth`, so each instance's session cache (src/sessions/session-cache.ts) drops
 * it. PostgreSQL delivers notifications only after commit and in commit order. Inserts need no
 * notice: nothing is cached before it exists.
 */
export class Migration20261124120000 extends Migration {
  override name = 'Migration20261124120000';

  override up(): void | Promise<void> {
    this
      .addSql(`create function "identity_link_auth_changed"() returns trigger language plpgsql as $$
begin
  if tg_level = 'STATEMENT' then
    perform pg_notify('identity_link_auth', '*');
  else
    perform pg_notify('identity_link_auth', tg_argv[0] || ':' || old.id::text);
  end if;
  return null;
end
$$;`);
    this.addSql(
      `create trigger "sessions_auth_changed" after update or delete on "sessions" for each row execute function "identity_link_auth_changed"('s');`,
    );
    this.addSql(
      `create trigger "users_auth_changed" after update or delete on "users" for each row execute function "identity_link_auth_changed"('u');`,
    );
    this.addSql(
      `create trigger "sessions_auth_truncated" after truncate on "sessions" for each statement execute function "identity_link_auth_changed"();`,
    );
    this.addSql(
      `create trigger "users_auth_truncated" after truncate on "users" for each statement execute function "identity_link_auth_changed"();`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "users_auth_truncated" on "users";`);
    this.addSql(`drop trigger if exists "sessions_auth_truncated" on "sessions";`);
    this.addSql(`drop trigger if exists "users_auth_changed" on "users";`);
    this.addSql(`drop trigger if exists "sessions_auth_changed" on "sessions";`);
    this.addSql(`drop function if exists "identity_link_auth_changed"();`);
  }
}
