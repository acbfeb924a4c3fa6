import { EntityManager } from '@mikro-orm/postgresql';
import { HttpStatus, Injectable } from '@nestjs/common';
import { type AdapterPayload } from 'oidc-provider';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { newSecret, secretDigest } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { OidcClient } from './oidc-client.entity.js';

/** `acr` values a client may require; `gosuslugi`: a Госуслуги login (the ПОС back office). */
export const CLIENT_ACRS = ['gosuslugi'] as const;
export type ClientAcr = (typeof CLIENT_ACRS)[number];

export interface NewClient {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  isPublic?: boolean;
  firstParty?: boolean;
  requiredAcr?: ClientAcr | null;
}

/** Who made a change, for the audit log (an operator's user id, the command line, a request). */
export interface ClientChangeActor {
  userId?: string | null;
  client?: ClientInfo;
  via?: 'cli' | 'web' | 'development';
}

/** What a client_id can be: 1-64 printable ASCII characters (the column holds 64). */
const CLIENT_ID = /^[\x21-\x7e]{1,64}$/;

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function invalid(field: string, code: string, message: string): DomainError {
  return new DomainError(HttpStatus.UNPROCESSABLE_ENTITY, 'validation_failed', message, {
    [field]: [{ code, message }],
  });
}

/**
 * Registered client applications of the OpenID Provider: created, listed, their secret rotated,
 * disabled by platform operators (the command line and operator pages call this service). A
 * confidential client's secret is returned once, at creation or rotation, and kept only hashed.
 */
@Injectable()
export class ClientsService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /** An absolute URI without fragment; https, or in development http to a loopback host. */
  private checkUri(field: string, value: string): string {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid(field, 'invalid_uri', `${value}: не адрес (нужен абсолютный URI)`);
    }
    if (url.hash) throw invalid(field, 'fragment', `${value}: адрес не может содержать #фрагмент`);
    if (url.username || url.password)
      throw invalid(field, 'credentials', `${value}: адрес не может содержать логин и пароль`);
    if (url.protocol === 'https:') return url.href;
    if (url.protocol === 'http:' && !this.config.isProduction && LOOPBACK.has(url.hostname))
      return url.href;
    throw invalid(
      field,
      'https_required',
      this.config.isProduction
        ? `${value}: нужен адрес https`
        : `${value}: нужен адрес https (http — только для 127.0.0.1, [::1] или localhost при разработке)`,
    );
  }

  private checked(input: NewClient): Required<NewClient> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 200)
      throw invalid('name', 'length', 'Название: от 1 до 200 символов');
    if (input.redirectUris.length === 0)
      throw invalid('redirectUris', 'required', 'Нужен хотя бы один адрес возврата (redirect URI)');
    const requiredAcr = input.requiredAcr ?? null;
    if (requiredAcr !== null && !CLIENT_ACRS.includes(requiredAcr))
      throw invalid('requiredAcr', 'unknown', `Неизвестный уровень входа ${String(requiredAcr)}`);
    return {
      name,
      redirectUris: [...new Set(input.redirectUris.map((u) => this.checkUri('redirectUris', u)))],
      postLogoutRedirectUris: [
        ...new Set(
          (input.postLogoutRedirectUris ?? []).map((u) =>
            this.checkUri('postLogoutRedirectUris', u),
          ),
        ),
      ],
      backchannelLogoutUri: input.backchannelLogoutUri
        ? this.checkUri('backchannelLogoutUri', input.backchannelLogoutUri)
        : null,
      isPublic: input.isPublic ?? false,
      firstParty: input.firstParty ?? false,
      requiredAcr,
    };
  }

  /** Registers a client; a confidential one gets its secret here, the only time it is shown. */
  async create(
    input: NewClient,
    actor: ClientChangeActor = {},
  ): Promise<{ client: OidcClient; clientSecret: string | null }> {
    const data = this.checked(input);
    const secret = data.isPublic ? null : newSecret();
    const clientSecret = secret?.secret ?? null;
    // One flush: the client and its audit event commit together.
    const em = this.em.fork();
    const client = em.create(OidcClient, {
      ...data,
      secretHash: secret?.digest ?? null,
    });
    this.record(em, 'oidc.client.created', client, actor, {
      name: client.name,
      redirectUris: client.redirectUris,
      public: client.isPublic,
      firstParty: client.firstParty,
      requiredAcr: client.requiredAcr,
    });
    await em.flush();
    return { client, clientSecret };
  }

  /**
   * Registers a client under a fixed id and secret, or brings an existing one up to date with
   * them (the development example diary, registered at every start). Returns whether it was new.
   */
  async ensure(
    clientId: string,
    input: NewClient,
    clientSecret: string,
    actor: ClientChangeActor = {},
  ): Promise<boolean> {
    const data = this.checked({ ...input, isPublic: false });
    return this.em.transactional(async (em) => {
      const existing = await em.findOne(OidcClient, { clientId });
      const fields = { ...data, secretHash: secretDigest(clientSecret) };
      if (existing) {
        Object.assign(existing, fields);
        return false;
      }
      const client = em.create(OidcClient, { clientId, ...fields });
      this.record(em, 'oidc.client.created', client, actor, {
        name: client.name,
        redirectUris: client.redirectUris,
        public: false,
        firstParty: client.firstParty,
        requiredAcr: client.requiredAcr,
      });
      return true;
    });
  }

  async list(): Promise<OidcClient[]> {
    return this.em.fork().find(OidcClient, {}, { orderBy: { createdAt: 'asc' } });
  }

  /**
   * A new secret for a confidential client, returned here only; the old one stops working at
   * once.
   */
  async rotateSecret(
    clientId: string,
    actor: ClientChangeActor = {},
  ): Promise<{ client: OidcClient; clientSecret: string }> {
    const { secret: clientSecret, digest: secretHash } = newSecret();
    const client = await this.em.transactional(async (em) => {
      const client = await this.find(em, clientId);
      if (client.isPublic)
        throw new DomainError(
          HttpStatus.CONFLICT,
          'public_client',
          'У публичного приложения нет секрета',
        );
      client.secretHash = secretHash;
      this.record(em, 'oidc.client.secret_rotated', client, actor);
      return client;
    });
    return { client, clientSecret };
  }

  /** The client can no longer sign anyone in or redeem codes and tokens. */
  async disable(clientId: string, actor: ClientChangeActor = {}): Promise<OidcClient> {
    return this.em.transactional(async (em) => {
      const client = await this.find(em, clientId);
      if (client.disabledAt === null) {
        client.disabledAt = new Date();
        this.record(em, 'oidc.client.disabled', client, actor);
      }
      return client;
    });
  }

  /** The client as oidc-provider reads it, or nothing for an unknown or disabled client. */
  async metadata(clientId: string): Promise<AdapterPayload | undefined> {
    if (clientId.length > 64) return undefined;
    const client = await this.em.fork().findOne(OidcClient, { clientId, disabledAt: null });
    if (!client) return undefined;
    return {
      client_id: client.clientId,
      client_name: client.name,
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris,
      // Refresh tokens for confidential clients only (refresh.ts): a public one cannot keep them.
      grant_types: client.isPublic
        ? ['authorization_code']
        : ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // The code in the query only: form_post's auto-submitted page needs an inline script our
      // CSP forbids, and a fragment never reaches the client's server (RFC 9700 §4.18, ASVS 10.4.12).
      response_modes: ['query'],
      // The stored hash stands where oidc-provider expects the secret: it is compared through
      // compareClientSecret (provider.service.ts) and never used as a key (no HS* algorithms,
      // no client_secret_jwt).
      ...(client.isPublic
        ? { token_endpoint_auth_method: 'none' }
        : { token_endpoint_auth_method: 'client_secret_basic', client_secret: client.secretHash! }),
      ...(client.backchannelLogoutUri && {
        backchannel_logout_uri: client.backchannelLogoutUri,
        backchannel_logout_session_required: true,
      }),
      ...(client.requiredAcr && { default_acr_values: [client.requiredAcr] }),
      // Declared as extra client metadata (provider.service.ts): no consent screen.
      first_party: client.firstParty,
    };
  }

  /** The name shown on the login page for the client of an interaction. */
  async nameOf(clientId: string): Promise<string | null> {
    const client = await this.em.fork().findOne(OidcClient, { clientId, disabledAt: null });
    return client?.name ?? null;
  }

  private async find(em: EntityManager, clientId: string): Promise<OidcClient> {
    // A client_id is printable ASCII (a UUID when made here): anything else, a NUL byte that
    // PostgreSQL refuses above all, is simply not a client.
    const client = CLIENT_ID.test(clientId) ? await em.findOne(OidcClient, { clientId }) : null;
    if (!client)
      throw new DomainError(HttpStatus.NOT_FOUND, 'client_not_found', 'Приложение не найдено');
    return client;
  }

  private record(
    em: EntityManager,
    type: 'oidc.client.created' | 'oidc.client.secret_rotated' | 'oidc.client.disabled',
    client: OidcClient,
    actor: ClientChangeActor,
    details: Record<string, unknown> = {},
  ): void {
    this.audit.record(
      {
        type,
        actorUserId: actor.userId ?? null,
        client: actor.client,
        details: { clientId: client.clientId, via: actor.via ?? null, ...details },
      },
      em,
    );
  }
}
