import { Migration } from '@mikro-orm/migrations';

const UPPER = 'АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯё';
const LOWER = 'абвгдеежзийклмнопрстуфхцчшщъыьэюяе';

/**
 * Member lists at hundreds of people: search and sort by ФИО and e-mail without regard to case.
 * `pos_fold` folds Cyrillic itself (lower() alone leaves it as it is under the C locale a
 * database may be created with) and reads ё as е; the indexes walk each sort order of an
 * organisation with the id as tie-breaker (keyset pages), and serve LIKE prefixes (collation C).
 */
export class Migration20261202172000 extends Migration {
  override name = 'Migration20261202172000';

  override up(): void | Promise<void> {
    this.addSql(
      `create function pos_fold(value text) returns text language sql immutable strict parallel safe as $$ select translate(lower(value), '${UPPER}', '${LOWER}') $$;`,
    );
    this.addSql(
      `create index "pos_memberships_org_name_idx" on "pos_memberships" ("organization_id", (pos_fold("last_name" || ' ' || "first_name" || ' ' || coalesce("middle_name", '')) collate "C"), "id");`,
    );
    this.addSql(
      `create index "pos_memberships_org_email_idx" on "pos_memberships" ("organization_id", ("email" collate "C"), "id");`,
    );
    this.addSql(
      `create index "pos_memberships_org_created_idx" on "pos_memberships" ("organization_id", "created_at", "id");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "pos_memberships_org_created_idx";`);
    this.addSql(`drop index if exists "pos_memberships_org_email_idx";`);
    this.addSql(`drop index if exists "pos_memberships_org_name_idx";`);
    this.addSql(`drop function if exists pos_fold(text);`);
  }
}
