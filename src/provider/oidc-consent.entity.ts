import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { User } from '../identity/user.entity.js';
import { OidcClient } from './oidc-client.entity.js';

/**
 * A person's «Разрешить» for an application that is not first-party: the scopes (and claims asked
 * one by one) it may receive, remembered per client until revoked in «Приложения». Kept apart from
 * oidc-provider's grants, which end with the provider's session: consent outlives a logout.
 */
@Entity({ tableName: 'oidc_consents' })
@Unique({ name: 'oidc_consents_user_client_unique', properties: ['user', 'client'] })
export class OidcConsent {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @ManyToOne({ entity: () => OidcClient, deleteRule: 'cascade', fieldName: 'client_id' })
  client!: Rel<OidcClient>;

  @Property({ type: 'text[]', columnType: 'text[]' })
  scopes!: string[];

  @Property({ type: 'text[]', columnType: 'text[]' })
  claims: string[] & Opt = [];

  /** The first «Разрешить»: «с какого времени» in «Приложения». */
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
