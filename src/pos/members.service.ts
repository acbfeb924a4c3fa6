import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { normalizeEmail } from '../identity/normalize.js';
import { PersonalDataKey } from '../identity/personal-data-key.service.js';
import { type User } from '../identity/user.entity.js';
import { type AddMemberDto, type ChangeRolesDto, MemberResponse } from './dto/member.dto.js';
import { Invitations } from './invitations.service.js';
import { snilsDigits } from './invitee.js';
import { Membership, MembershipStatus } from './membership.entity.js';
import { type Organization } from './organization.entity.js';
import { PosAccess } from './pos-access.service.js';
import { PosErrors } from './pos.texts.js';

/**
 * Accounts of an organisation, managed by its administrators (and those of the organisations
 * above it) or by a platform operator. Every check of reach goes through PosAccess.
 */
@Injectable()
export class MembersService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
    private readonly invitations: Invitations,
    private readonly audit: AuditService,
    private readonly personalData: PersonalDataKey,
    private readonly config: AppConfig,
  ) {}

  /**
   * The invitee's SNILS as it is kept: a digest to match what Госуслуги gives, and the last three
   * digits to show. Refused when the service does not ask Госуслуги for the SNILS (the `snils`
   * scope): such an invitation could never be accepted.
   */
  invitedSnils(snils: string | undefined): { snilsDigest: string; snilsLast3: string } | null {
    if (snils === undefined || snils === '') return null;
    if (!this.config.gosuslugi.scopes.split(' ').includes('snils'))
      throw PosErrors.snilsNotRequested();
    // The DTO has checked the number (its check digits too).
    const digits = snilsDigits(snils)!;
    return { snilsDigest: this.personalData.snilsDigest(digits)!, snilsLast3: digits.slice(8) };
  }

  /** «Добавить пользователя»: the account, its invitation and the mail, in one transaction. */
  async add(
    actor: User | 'cli',
    organizationId: string,
    dto: AddMemberDto,
    client?: ClientInfo,
    via?: 'import',
  ): Promise<MemberResponse> {
    const organization = await this.administered(actor, organizationId);
    const actorId = actor === 'cli' ? null : actor.id;
    const snils = this.invitedSnils(dto.snils);
    try {
      const membership = await this.em.transactional(async (em) => {
        const created = em.create(Membership, {
          organization,
          email: normalizeEmail(dto.email),
          lastName: dto.lastName,
          firstName: dto.firstName,
          middleName: dto.middleName || null,
          position: dto.position ?? null,
          ...snils,
          roles: dto.roles,
          invitedBy: actorId,
        });
        // The membership row first: a duplicate live e-mail stops here, before any mail is queued.
        await em.flush();
        await this.invitations.issue(em, created);
        this.audit.record(
          {
            type: 'pos.member.invited',
            actorUserId: actorId,
            organizationId: organization.id,
            client,
            details: {
              membershipId: created.id,
              roles: dto.roles,
              withSnils: snils !== null,
              via: via ?? (actor === 'cli' ? 'cli' : 'api'),
            },
          },
          em,
        );
        await em.flush();
        return created;
      });
      return MemberResponse.of(membership);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw await this.emailCollision(
          actorId,
          organization.id,
          normalizeEmail(dto.email),
          client,
        );
      throw error;
    }
  }

  /**
   * The address is live in another account. The caller learns only that («уже используется»),
   * never where; the refusal is audited with both organisations, for the platform operator.
   */
  private async emailCollision(
    actorId: string | null,
    organizationId: string,
    email: string,
    client?: ClientInfo,
  ): Promise<Error> {
    const holder = await this.em.findOne(
      Membership,
      { email, status: { $ne: MembershipStatus.Archived } },
      { fields: ['id', 'organization'] },
    );
    await this.audit.write({
      type: 'pos.member.email_taken',
      actorUserId: actorId,
      organizationId,
      client,
      details: {
        heldByOrganizationId: holder?.organization.id ?? null,
        heldByMembershipId: holder?.id ?? null,
      },
    });
    return PosErrors.emailTaken();
  }

  private recordMemberEvent(
    em: EntityManager,
    type: 'pos.member.archived' | 'pos.member.restored',
    actor: User,
    membership: Membership,
    organization: Organization,
    client: ClientInfo,
  ): void {
    this.audit.record(
      {
        type,
        actorUserId: actor.id,
        targetUserId: membership.user?.id ?? null,
        organizationId: organization.id,
        client,
        details: { membershipId: membership.id },
      },
      em,
    );
  }

  /**
   * The organisation members are added to, if the actor administers it: any, from the CLI (the
   * platform's own tool). «Добавить пользователя» and the import into a subtree ask the same.
   */
  administered(actor: User | 'cli', organizationId: string): Promise<Organization> {
    return actor === 'cli'
      ? this.access.organization(organizationId)
      : this.access.administered(actor, organizationId);
  }

  /** The membership, if the caller administers its organisation; 404 otherwise. */
  async managed(
    user: User,
    membershipId: string,
  ): Promise<{ membership: Membership; organization: Organization }> {
    const membership = await this.em.findOne(
      Membership,
      { id: membershipId },
      { populate: ['organization'] },
    );
    if (!membership) throw PosErrors.memberNotFound();
    try {
      return {
        membership,
        organization: await this.access.administered(user, membership.organization.id),
      };
    } catch (error) {
      // Out of reach is answered as not found, whatever the organisation check said.
      if (error instanceof Error && 'code' in error && error.code === 'organization_not_found')
        throw PosErrors.memberNotFound();
      throw error;
    }
  }

  async resend(user: User, membershipId: string, client: ClientInfo): Promise<MemberResponse> {
    const { organization } = await this.managed(user, membershipId);
    const membership = await this.em.transactional(async (em) => {
      const locked = await this.invitations.lockMembership(em, membershipId);
      if (locked.status !== MembershipStatus.Invited)
        throw PosErrors.wrongStatus('Приглашение уже принято или учётная запись в архиве');
      const revoked = await this.invitations.revokeAll(em, locked, 'resent');
      await this.invitations.issue(em, locked);
      this.audit.record(
        {
          type: 'pos.invitation.resent',
          actorUserId: user.id,
          organizationId: organization.id,
          client,
          details: { membershipId, revoked },
        },
        em,
      );
      await em.flush();
      return locked;
    });
    return MemberResponse.of(membership);
  }

  async changeRoles(
    user: User,
    membershipId: string,
    dto: ChangeRolesDto,
    client: ClientInfo,
  ): Promise<MemberResponse> {
    const { membership, organization } = await this.managed(user, membershipId);
    if (membership.status === MembershipStatus.Archived)
      throw PosErrors.wrongStatus('Учётная запись в архиве');
    const before = membership.roles;
    membership.roles = dto.roles;
    this.audit.record({
      type: 'pos.member.roles_changed',
      actorUserId: user.id,
      targetUserId: membership.user?.id ?? null,
      organizationId: organization.id,
      client,
      details: { membershipId, before, after: dto.roles },
    });
    await this.em.flush();
    return MemberResponse.of(membership);
  }

  /**
   * Out of every list but the archive, invitations dead, access gone at once, e-mail free.
   *
   * The person's sessions are left alone: they belong to the person, who may work in other
   * organisations and use ЭПОС, not to this account. What the account gave ends anyway: every
   * ПОС check reads the memberships from the database per request, and every refreshed access
   * token lists only live memberships (PosTokenClaims). Ending sessions would not recall tokens
   * already handed out either, which downstream services verify offline until `exp` (SECURITY.md,
   * D3). An administrator who wants the person signed out ends the sessions before archiving
   * (`DELETE /api/v1/pos/members/:id/sessions`).
   */
  async archive(user: User, membershipId: string, client: ClientInfo): Promise<MemberResponse> {
    const { organization } = await this.managed(user, membershipId);
    const membership = await this.em.transactional(async (em) => {
      const locked = await this.invitations.lockMembership(em, membershipId);
      if (locked.status === MembershipStatus.Archived) return locked;
      // An administrator archiving their own account would lock themselves out of the area.
      if (locked.user?.id === user.id) throw PosErrors.archiveSelf();
      locked.statusBeforeArchive = locked.status;
      locked.status = MembershipStatus.Archived;
      locked.archivedAt = new Date();
      await this.invitations.revokeAll(em, locked, 'archived');
      this.recordMemberEvent(em, 'pos.member.archived', user, locked, organization, client);
      await em.flush();
      return locked;
    });
    return MemberResponse.of(membership);
  }

  /** Back to the status it had; an invited account gets a fresh invitation (within the hourly limit). */
  async restore(user: User, membershipId: string, client: ClientInfo): Promise<MemberResponse> {
    const { organization } = await this.managed(user, membershipId);
    try {
      const membership = await this.em.transactional(async (em) => {
        const locked = await this.invitations.lockMembership(em, membershipId);
        if (locked.status !== MembershipStatus.Archived)
          throw PosErrors.wrongStatus('Учётная запись не в архиве');
        locked.status = locked.statusBeforeArchive ?? MembershipStatus.Invited;
        locked.statusBeforeArchive = null;
        locked.archivedAt = null;
        await em.flush();
        if (locked.status === MembershipStatus.Invited) await this.invitations.issue(em, locked);
        this.recordMemberEvent(em, 'pos.member.restored', user, locked, organization, client);
        await em.flush();
        return locked;
      });
      return MemberResponse.of(membership);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        const archived = await this.em.findOneOrFail(Membership, membershipId);
        throw await this.emailCollision(user.id, organization.id, archived.email, client);
      }
      throw error;
    }
  }
}
