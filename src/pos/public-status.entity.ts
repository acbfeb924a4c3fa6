import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, OneToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Organization } from './organization.entity.js';

/**
 * An authority's published connection status: the page at `/public/status/<token>`. The token
 * (256 random bits) is the page's address, not a credential to anything: it is meant to be
 * published on the administration's site, and the administrator must be able to read it again,
 * so it is stored as it is. Revoking deletes the row; regenerating replaces the token.
 */
@Entity({ tableName: 'pos_public_statuses' })
export class PublicStatus {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @OneToOne({
    entity: () => Organization,
    owner: true,
    deleteRule: 'cascade',
    unique: 'pos_public_statuses_organization_unique',
  })
  organization!: Rel<Organization>;

  @Property({ type: 'string', length: 43, unique: 'pos_public_statuses_token_unique' })
  token!: string;

  @Property({ type: 'uuid' })
  publishedBy!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  publishedAt: Date & Opt = new Date();
}
