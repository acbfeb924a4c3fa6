import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * Which of our sessions signed a person in to which client, and under which of oidc-provider's
 * identifiers: the `sid` its ID tokens carry (and a logout token must name), the grant whose
 * tokens die with the session, and the provider session (its `uid`). Written when a code is
 * issued (session-link.ts); read and deleted when our session ends (backchannel-logout.ts).
 *
 * No foreign key to `sessions`: a link outlives nothing it needs, and the end of a session is
 * found from the session's own row (revoked, or its user blocked or reset), never by a cascade.
 */
@Entity({ tableName: 'oidc_session_links' })
@Index({ name: 'oidc_session_links_account_idx', properties: ['accountId'] })
export class OidcSessionLink {
  @PrimaryKey({ type: 'uuid' })
  sessionId!: string;

  @PrimaryKey({ type: 'string', length: 64 })
  clientId!: string;

  @PrimaryKey({ type: 'string', length: 255 })
  sid!: string;

  @Property({ type: 'uuid' })
  accountId!: string;

  @Property({ type: 'string', length: 255, nullable: true })
  grantId: string | null = null;

  /** oidc-provider's Session `uid` (stable while its cookie id rotates). */
  @Property({ type: 'string', length: 255, nullable: true })
  providerSessionUid: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
