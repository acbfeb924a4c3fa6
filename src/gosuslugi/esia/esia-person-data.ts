import { type Logger } from '@nestjs/common';
import { type AppConfig } from '../../config/app-config.js';
import {
  type IdentityOrganization,
  sealContext,
} from '../../identity/federated-identity.entity.js';
import { type VerifiedIdentity } from '../../identity/identity-links.service.js';
import { type PersonalDataKey } from '../../identity/personal-data-key.service.js';
import { GOSUSLUGI_PROVIDER } from '../gosuslugi.texts.js';
import { ProviderError } from '../provider-client.js';
import { type EsiaEndpoints } from './esia-endpoints.js';

/**
 * What ЕСИА says about the person behind a verified access token, read from /rs/prns/{oid} and
 * its collections: names and `trusted` always, contacts and organisations as the scopes allow,
 * the SNILS only as its keyed digest, and the refresh token only sealed for this identity.
 */
export class EsiaPersonData {
  constructor(
    private readonly config: AppConfig,
    private readonly personalData: PersonalDataKey,
    private readonly endpoints: EsiaEndpoints,
    private readonly logger: Logger,
  ) {}

  /** The person behind a verified access token: names, `trusted`, and what the scopes allow. */
  async identity(
    subject: string,
    tokens: { access_token: string; refresh_token?: string },
  ): Promise<VerifiedIdentity> {
    const person = await this.person(subject, tokens.access_token);
    const text = (value: unknown) =>
      typeof value === 'string' && value.length <= 100 ? value : undefined;
    const scopes = this.config.gosuslugi.scopes.split(' ');
    // Extra data, not the identity: a failure to read it leaves it out instead of refusing the login.
    const [contacts, organizations] = await Promise.all([
      scopes.some((scope) => ['contacts', 'email', 'mobile'].includes(scope))
        ? this.optional(this.verifiedContacts(subject, tokens.access_token), 'contacts')
        : { value: undefined, failed: false },
      scopes.includes('usr_org')
        ? this.optional(this.organizations(subject, tokens.access_token), 'roles')
        : { value: undefined, failed: false },
    ]);
    const unread = [
      ...(contacts.failed ? (['contacts'] as const) : []),
      ...(organizations.failed ? (['organizations'] as const) : []),
    ];
    const issuer = this.config.gosuslugi.issuer;
    // Kept only with offline access, and only sealed for this identity.
    const keep = this.config.gosuslugi.esia?.accessType === 'offline' && tokens.refresh_token;
    return {
      provider: GOSUSLUGI_PROVIDER,
      issuer,
      subject,
      claims: {
        lastName: text(person.lastName),
        firstName: text(person.firstName),
        middleName: text(person.middleName),
        trusted: typeof person.trusted === 'boolean' ? person.trusted : undefined,
        ...contacts.value,
        ...(organizations.value && { organizations: organizations.value }),
        ...this.snils(person.snils),
        readAt: new Date().toISOString(),
      },
      ...(keep && {
        sealedRefreshToken: this.personalData.seal(keep, sealContext({ issuer, subject })),
      }),
      ...(unread.length > 0 && { unread }),
    };
  }

  /** With the `snils` scope: only the keyed digest (to match an invitation's SNILS), never the number. */
  private snils(value: unknown): { snilsDigest?: string } {
    if (!this.config.gosuslugi.scopes.split(' ').includes('snils') || typeof value !== 'string')
      return {};
    const digest = this.personalData.snilsDigest(value);
    return digest ? { snilsDigest: digest } : {};
  }

  private async optional<T>(
    read: Promise<T>,
    what: string,
  ): Promise<{ value: T | undefined; failed: boolean }> {
    try {
      return { value: await read, failed: false };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn(
        { err: error.cause, code: error.code },
        `ЕСИА ${what} not read: ${error.code}`,
      );
      return { value: undefined, failed: true };
    }
  }

  private async person(oid: string, accessToken: string): Promise<Record<string, unknown>> {
    const record = await this.endpoints.personResource(oid, '', accessToken, 'person');
    const recordOid = record.oid;
    if (
      recordOid !== undefined &&
      !(
        (typeof recordOid === 'number' || typeof recordOid === 'string') &&
        String(recordOid) === oid
      )
    )
      throw new ProviderError('rejected', 'person_record_subject');
    return record;
  }

  /** `ctts?embed=(elements)`: the e-mail (EML) and mobile (MBT) ЕСИА marks VERIFIED, nothing else. */
  private async verifiedContacts(
    oid: string,
    accessToken: string,
  ): Promise<{ email?: string; mobile?: string }> {
    const collection = await this.endpoints.personResource(
      oid,
      '/ctts?embed=(elements)',
      accessToken,
      'contacts',
    );
    const verified = (type: string) => {
      const elements = Array.isArray(collection.elements) ? (collection.elements as unknown[]) : [];
      const found = elements.find(
        (element): element is { value: string } =>
          typeof element === 'object' &&
          element !== null &&
          (element as Record<string, unknown>).type === type &&
          (element as Record<string, unknown>).vrfStu === 'VERIFIED' &&
          typeof (element as Record<string, unknown>).value === 'string' &&
          ((element as Record<string, unknown>).value as string).length <= 254,
      );
      return found?.value;
    };
    const email = verified('EML');
    const mobile = verified('MBT');
    return { ...(email && { email }), ...(mobile && { mobile }) };
  }

  /** `roles`: the organisations the person acts for (scope usr_org). */
  private async organizations(oid: string, accessToken: string): Promise<IdentityOrganization[]> {
    const collection = await this.endpoints.personResource(oid, '/roles', accessToken, 'roles');
    const elements = Array.isArray(collection.elements) ? (collection.elements as unknown[]) : [];
    return elements.flatMap((element): IdentityOrganization[] => {
      if (typeof element !== 'object' || element === null) return [];
      const org = element as Record<string, unknown>;
      const name = [org.shortName, org.fullName].find(
        (value): value is string => typeof value === 'string' && value.length > 0,
      );
      if ((typeof org.oid !== 'number' && typeof org.oid !== 'string') || !name) return [];
      return [
        {
          oid: String(org.oid),
          name: name.slice(0, 300),
          ...(typeof org.ogrn === 'string' && { ogrn: org.ogrn }),
          ...(typeof org.chief === 'boolean' && { chief: org.chief }),
          ...(typeof org.admin === 'boolean' && { admin: org.admin }),
        },
      ];
    });
  }
}
