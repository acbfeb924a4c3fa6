import { Migration } from '@mikro-orm/migrations';

/**
 * Sessions remember when a Госуслуги round trip (a link) came back to their browser, so that
 * «Выйти» also ends the provider's session there.
 */
export class Migration20261202002314 extends Migration {
  override name = 'Migration20261202002314';

  override up(): void | Promise<void> {
    this.addSql(`alter table "sessions" add "provider_signed_in_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "sessions" drop column "provider_signed_in_at";`);
  }
}
