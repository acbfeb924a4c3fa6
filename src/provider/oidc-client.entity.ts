import { randomUUID } from 'node:crypto';
import { type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * An application registered by a platform operator to sign people in through this service's
 * OpenID Provider. Read by the provider through the adapter's Client model (clients.service.ts).
 */
@Entity({ tableName: 'oidc_clients' })
export class OidcClient {
  @PrimaryKey({ type: 'string', length: 64, fieldName: 'client_id' })
  clientId: string & Opt = randomUUID();

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'text[]', columnType: 'text[]' })
  redirectUris!: string[];

  @Property({ type: 'text[]', columnType: 'text[]' })
  postLogoutRedirectUris: string[] & Opt = [];

  @Property({ type: 'string', length: 2048, nullable: true })
  backchannelLogoutUri: string | null = null;

  /** A public client (a browser or mobile app) has no secret and must use PKCE. */
  @Property({ type: 'boolean', fieldName: 'public' })
  isPublic: boolean & Opt = false;

  /** Operated by the platform itself: its sign-ins need no consent screen. */
  @Property({ type: 'boolean' })
  firstParty: boolean & Opt = false;

  /** An `acr` the client always requires (`gosuslugi` for the ПОС back office). */
  @Property({ type: 'string', length: 64, nullable: true })
  requiredAcr: string | null = null;

  /** SHA-256 (hex) of the client secret; null for public clients. The secret itself is shown once. */
  @Property({ type: 'string', length: 64, nullable: true, hidden: true })
  secretHash: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  disabledAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
