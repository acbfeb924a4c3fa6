import { Migration } from '@mikro-orm/migrations';

/**
 * When the verified e-mail was verified, and how a session's recent authentication was proved:
 * a Госуслуги login through a link older than the verified address may not move that address.
 * Sessions so far were proved by the way they were opened. A verified address takes the time of
 * its last `email.verified` audit event, else now: an address of unknown age counts as verified
 * after every existing link, so only the password (or a later link) moves it.
 */
export class Migration20261202081544 extends Migration {
  override name = 'Migration20261202081544';

  override up(): void | Promise<void> {
    this.addSql(`alter table "users" add "email_verified_at" timestamptz null;`);
    this.addSql(
      `update "users" u set "email_verified_at" = coalesce((select max(a."created_at") from "audit_events" a where a."type" = 'email.verified' and a."target_user_id" = u."id"), now()) where u."email" is not null;`,
    );
    this.addSql(`alter table "sessions" add "authenticated_with" "auth_method" null;`);
    this.addSql(`update "sessions" set "authenticated_with" = "method";`);
    this.addSql(`alter table "sessions" alter column "authenticated_with" set not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "authenticated_with";`);
    this.addSql(`alter table "users" drop column "email_verified_at";`);
  }
}
