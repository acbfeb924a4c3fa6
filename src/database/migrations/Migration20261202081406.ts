import { Migration } from '@mikro-orm/migrations';
import { foreignKey } from './sql.js';

/**
 * Password failures counted per (account, address): the hard lock moves here, so an attacker's
 * guesses lock only the attacker's addresses; `password_credentials` keeps the account-wide
 * counters, which now only slow every address down.
 */
export class Migration20261202081406 extends Migration {
  override name = 'Migration20261202081406';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "login_failures" ("credential_id" uuid not null, "address" text not null, "failure_count" int not null default 0, "last_failure_at" timestamptz null, "locked_until" timestamptz null, primary key ("credential_id", "address"));`,
    );
    this.addSql(foreignKey('login_failures.credential_id', 'password_credentials.id', 'cascade'));
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "login_failures" cascade;`);
  }
}
