import { Migration } from '@mikro-orm/migrations';
import { authNoticeFunction, truncateNotice } from './sql.js';

/**
 * Every committed update or delete of a session or a user is announced on the channel
 * `identity_link_auth`, so each instance's session cache (src/sessions/session-cache.ts) drops
 * it. PostgreSQL delivers notifications only after commit and in commit order. Inserts need no
 * notice: nothing is cached before it exists.
 */
export class Migration20261124120000 extends Migration {
  override name = 'Migration20261124120000';

  override up(): void | Promise<void> {
    this.addSql(
      authNoticeFunction(
        'identity_link_auth_changed',
        `  else
    perform pg_notify('identity_link_auth', tg_argv[0] || ':' || old.id::text);
  end if;
  return null;`,
      ),
    );
    this.addSql(
      `create trigger "sessions_auth_changed" after update or delete on "sessions" for each row execute function "identity_link_auth_changed"('s');`,
    );
    this.addSql(
      `create trigger "users_auth_changed" after update or delete on "users" for each row execute function "identity_link_auth_changed"('u');`,
    );
    this.addSql(truncateNotice('sessions', 'identity_link_auth_changed'));
    this.addSql(truncateNotice('users', 'identity_link_auth_changed'));
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "users_auth_truncated" on "users";`);
    this.addSql(`drop trigger if exists "sessions_auth_truncated" on "sessions";`);
    this.addSql(`drop trigger if exists "users_auth_changed" on "users";`);
    this.addSql(`drop trigger if exists "sessions_auth_changed" on "sessions";`);
    this.addSql(`drop function if exists "identity_link_auth_changed"();`);
  }
}
