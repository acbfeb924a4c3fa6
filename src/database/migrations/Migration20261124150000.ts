import { Migration } from '@mikro-orm/migrations';
import { authNoticeFunction, truncateNotice } from './sql.js';

/**
 * A person's linked identities travel with their cached sessions (`GET /api/v1/me` shows them), so
 * every committed change to `federated_identities` is announced on `identity_link_auth` as a
 * change of the user (`u:<user id>`, both users if a row moved), and a truncate as `*`.
 */
export class Migration20261124150000 extends Migration {
  override name = 'Migration20261124150000';

  override up(): void | Promise<void> {
    this.addSql(
      authNoticeFunction(
        'identity_link_identities_changed',
        `    return null;
  end if;
  if tg_op <> 'INSERT' then
    perform pg_notify('identity_link_auth', 'u:' || old.user_id::text);
  end if;
  if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.user_id <> old.user_id) then
    perform pg_notify('identity_link_auth', 'u:' || new.user_id::text);
  end if;
  return null;`,
      ),
    );
    this.addSql(
      `create trigger "federated_identities_auth_changed" after insert or update or delete on "federated_identities" for each row execute function "identity_link_identities_changed"();`,
    );
    this.addSql(truncateNotice('federated_identities', 'identity_link_identities_changed'));
  }

  override down(): void | Promise<void> {
    this.addSql(
      `drop trigger if exists "federated_identities_auth_truncated" on "federated_identities";`,
    );
    this.addSql(
      `drop trigger if exists "federated_identities_auth_changed" on "federated_identities";`,
    );
    this.addSql(`drop function if exists "identity_link_identities_changed"();`);
  }
}
