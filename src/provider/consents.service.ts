import { EntityManager } from '@mikro-orm/postgresql';
import { HttpStatus, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { OidcConsent } from './oidc-consent.entity.js';

/** What a person allowed a client: OpenID scopes, and claims asked for one by one. */
export interface Allowed {
  scopes: string[];
  claims: string[];
}

/** An application with access to a person's account, as «Приложения» lists it. */
export interface ApplicationAccess extends Allowed {
  clientId: string;
  name: string;
  /** Operated by the platform: access through the operator, not the person's consent. */
  firstParty: boolean;
  since: Date;
}

interface ConsentRow {
  client_id: string;
  name: string;
  scopes: string[];
  claims: string[];
  since: Date | string;
}

interface GrantRow {
  client_id: string;
  name: string;
  scope: string | null;
  iat: string | null;
}

/** A person's live grants of first-party clients (they have no consent row). */
const FIRST_PARTY_GRANTS = `
  select c.client_id, c.name, p.payload->'openid'->>'scope' as scope, p.payload->>'iat' as iat
    from oidc_payloads p join oidc_clients c on c.client_id = p.payload->>'clientId'
   where p.model = 'Grant' and p.payload->>'accountId' = ?
     and (p.expires_at is null or p.expires_at > clock_timestamp())
     and c.first_party and c.disabled_at is null`;

/**
 * Consent to applications that are not first-party: given on the consent page, remembered per
 * person and client (so the next authorization needs no page, even after a logout), listed and
 * revoked in «Приложения». Revoking deletes the client's grants of that person and every code and
 * token issued under them in the same transaction as the consent and its audit event.
 */
@Injectable()
export class ConsentsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
  ) {}

  /** What the person allowed this client before, or null: the consent page is needed. */
  async remembered(userId: string, clientId: string): Promise<Allowed | null> {
    const consent = await this.em
      .fork()
      .findOne(
        OidcConsent,
        { user: userId, client: { clientId } },
        { fields: ['scopes', 'claims'] },
      );
    return consent && { scopes: consent.scopes, claims: consent.claims };
  }

  /** «Разрешить»: adds to what the client may receive (one row per person and client). */
  async give(userId: string, clientId: string, given: Allowed, client: ClientInfo) {
    const allowed = { scopes: [...given.scopes].sort(), claims: [...given.claims].sort() };
    await this.em.transactional(async (em) => {
      // One statement: two tabs allowing at once merge instead of tripping the unique constraint.
      await em.execute(
        `insert into oidc_consents (id, user_id, client_id, scopes, claims, created_at, updated_at)
           values (?, ?, ?,
             array(select jsonb_array_elements_text(?::jsonb)),
             array(select jsonb_array_elements_text(?::jsonb)),
             clock_timestamp(), clock_timestamp())
         on conflict (user_id, client_id) do update set
           scopes = array(select distinct unnest(oidc_consents.scopes || excluded.scopes) order by 1),
           claims = array(select distinct unnest(oidc_consents.claims || excluded.claims) order by 1),
           updated_at = excluded.updated_at`,
        [
          randomUUID(),
          userId,
          clientId,
          JSON.stringify(allowed.scopes),
          JSON.stringify(allowed.claims),
        ],
        'run',
      );
      this.audit.record(
        {
          type: 'oidc.consent.granted',
          actorUserId: userId,
          targetUserId: userId,
          client,
          details: { clientId, scopes: allowed.scopes, claims: allowed.claims },
        },
        em,
      );
    });
  }

  /** Applications with access: consented ones, and first-party ones the person signed in to. */
  async list(userId: string): Promise<ApplicationAccess[]> {
    const em = this.em.fork();
    const consents = await em.execute<ConsentRow[]>(
      `select c.client_id, c.name, oc.scopes, oc.claims, oc.created_at as since
         from oidc_consents oc join oidc_clients c on c.client_id = oc.client_id
        where oc.user_id = ? and c.disabled_at is null`,
      [userId],
    );
    const grants = await em.execute<GrantRow[]>(FIRST_PARTY_GRANTS, [userId]);
    const firstParty = new Map<string, ApplicationAccess>();
    for (const grant of grants) {
      const since = new Date(Number(grant.iat ?? 0) * 1000);
      const known = firstParty.get(grant.client_id) ?? {
        clientId: grant.client_id,
        name: grant.name,
        firstParty: true,
        scopes: [],
        claims: [],
        since,
      };
      const scopes = new Set([...known.scopes, ...(grant.scope?.split(' ') ?? [])]);
      firstParty.set(grant.client_id, {
        ...known,
        scopes: [...scopes].filter(Boolean),
        since: since < known.since ? since : known.since,
      });
    }
    return [
      ...consents.map((row) => ({
        clientId: row.client_id,
        name: row.name,
        firstParty: false,
        scopes: row.scopes,
        claims: row.claims,
        since: new Date(row.since),
      })),
      ...firstParty.values(),
    ].sort((a, b) => a.since.getTime() - b.since.getTime());
  }

  /**
   * «Отозвать доступ»: the consent, the client's grants of this person and everything issued under
   * them (codes, access and refresh tokens) go at once; the next authorization asks again.
   */
  async revoke(userId: string, clientId: string, client: ClientInfo): Promise<void> {
    await this.em.transactional(async (em) => {
      const consent = await em.findOne(OidcConsent, { user: userId, client: { clientId } });
      if (!consent)
        throw new DomainError(
          HttpStatus.NOT_FOUND,
          'application_not_found',
          'У этого приложения нет доступа к вашей учётной записи',
        );
      em.remove(consent);
      const deleted = await em.execute<{ affectedRows?: number }>(
        `with grants as (
           select id from oidc_payloads
            where model = 'Grant' and payload->>'accountId' = ? and payload->>'clientId' = ?)
         delete from oidc_payloads
          where grant_id in (select id from grants) or (model = 'Grant' and id in (select id from grants))`,
        [userId, clientId],
        'run',
      );
      this.audit.record(
        {
          type: 'oidc.consent.revoked',
          actorUserId: userId,
          targetUserId: userId,
          client,
          details: { clientId, deletedRows: deleted.affectedRows ?? 0 },
        },
        em,
      );
    });
  }
}
