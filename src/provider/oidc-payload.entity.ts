import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * What oidc-provider stores (sessions, interactions, codes, tokens, grants), one row per model
 * and id, read and written only by the PostgreSQL adapter (postgres-adapter.ts). Shared by every
 * instance: a code issued by one is redeemed on another.
 */
@Entity({ tableName: 'oidc_payloads' })
@Index({ name: 'oidc_payloads_grant_id_idx', properties: ['grantId'] })
@Index({ name: 'oidc_payloads_uid_idx', properties: ['uid'] })
@Index({ name: 'oidc_payloads_user_code_idx', properties: ['userCode'] })
@Index({ name: 'oidc_payloads_expires_at_idx', properties: ['expiresAt'] })
// A person's grants, for «Приложения» and «Отозвать доступ» (consents.service.ts).
@Index({
  name: 'oidc_payloads_grant_account_idx',
  expression: `create index "oidc_payloads_grant_account_idx" on "oidc_payloads" ((payload->>'accountId')) where model = 'Grant'`,
})
export class OidcPayload {
  @PrimaryKey({ type: 'string', length: 64 })
  model!: string;

  @PrimaryKey({ type: 'string', length: 255 })
  id!: string;

  @Property({ type: 'json' })
  payload!: Record<string, unknown>;

  @Property({ type: 'string', length: 255, nullable: true })
  grantId: string | null = null;

  @Property({ type: 'string', length: 255, nullable: true })
  userCode: string | null = null;

  @Property({ type: 'string', length: 255, nullable: true })
  uid: string | null = null;

  /** Null: never expires (oidc-provider gives no lifetime). Past rows are ignored, then swept. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  consumedAt: Date | null = null;
}
