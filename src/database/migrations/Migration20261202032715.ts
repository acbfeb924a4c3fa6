import { Migration } from '@mikro-orm/migrations';

/**
 * An invitation names its person: the SNILS as an HMAC with its last three digits for display,
 * the ФИО Госуслуги gave at acceptance, and the last attempt to accept it with another profile.
 */
export class Migration20261202032715 extends Migration {
  override name = 'Migration20261202032715';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "pos_memberships" add "snils_digest" varchar(64) null, add "snils_last3" varchar(3) null, add "accepted_name" varchar(310) null, add "mismatch_at" timestamptz null;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(
      `alter table "pos_memberships" drop column "snils_digest", drop column "snils_last3", drop column "accepted_name", drop column "mismatch_at";`,
    );
  }
}
