import { describe, expect, it } from '@jest/globals';
import { dropForeignKey, foreignKey, truncateNotice } from './sql.js';

describe('migration SQL helpers', () => {
  it('spell a foreign key as MikroORM generates it', () => {
    expect(foreignKey('oidc_consents.client_id', 'oidc_clients.client_id', 'cascade')).toBe(
      `alter table "oidc_consents" add constraint "oidc_consents_client_id_foreign" foreign key ("client_id") references "oidc_clients" ("client_id") on delete cascade;`,
    );
    expect(dropForeignKey('sessions.user_id')).toBe(
      `alter table "sessions" drop constraint "sessions_user_id_foreign";`,
    );
    expect(truncateNotice('users', 'identity_link_auth_changed')).toBe(
      `create trigger "users_auth_truncated" after truncate on "users" for each statement execute function "identity_link_auth_changed"();`,
    );
  });

  it('refuse a column not written as "table.column"', () => {
    for (const column of ['user_id', 'public.sessions.user_id', 'sessions.', '.user_id']) {
      expect(() => dropForeignKey(column)).toThrow('expected "table.column"');
    }
  });
});
