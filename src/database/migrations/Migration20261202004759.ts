import { Migration } from '@mikro-orm/migrations';

/**
 * With offline access, a linked identity keeps the provider's refresh token, sealed under the
 * personal data key, to re-read the person's data without a new login.
 */
export class Migration20261202004759 extends Migration {
  override name = 'Migration20261202004759';

  override up(): void | Promise<void> {
    this.addSql(`alter table "federated_identities" add "refresh_token_sealed" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "federated_identities" drop column "refresh_token_sealed";`);
  }
}
