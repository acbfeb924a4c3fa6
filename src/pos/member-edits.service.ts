import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { normalizeEmail } from '../identity/normalize.js';
import { type User } from '../identity/user.entity.js';
import { type EditInviteeDto, type ResendAllResponse } from './dto/invitee-edit.dto.js';
import { MemberResponse } from './dto/member.dto.js';
import { Invitations } from './invitations.service.js';
import { Membership, MembershipStatus } from './membership.entity.js';
import { MembersService } from './members.service.js';
import { PosAccess } from './pos-access.service.js';
import { PosErrors } from './pos.texts.js';

/**
 * Corrections to invitations still out, and «Отправить повторно всем приглашённым». The same
 * row lock, quota (INVITATIONS_PER_HOUR per organisation and address) and outbox as a single
 * re-send.
 */
@Injectable()
export class MemberEdits {
  constructor(
    private readonly em: EntityManager,
    private readonly access: PosAccess,
    private readonly members: MembersService,
    private readonly invitations: Invitations,
    private readonly audit: AuditService,
  ) {}

  /**
   * The ФИО, СНИЛС and address of an invitee, while «Приглашен» (afterwards the person is bound
   * and these are theirs: 409 `invitee_not_editable`). A new address revokes every link sent to
   * the old one and mails a new link, in one transaction: the old mailbox can no longer accept.
   */
  async editInvitee(
    user: User,
    membershipId: string,
    dto: EditInviteeDto,
    client: ClientInfo,
  ): Promise<MemberResponse> {
    const { organization } = await this.members.managed(user, membershipId);
    if (Object.values(dto).every((value) => value === undefined)) throw PosErrors.nothingToEdit();
    const snils = dto.snils === undefined ? undefined : this.members.invitedSnils(dto.snils);
    try {
      const membership = await this.em.transactional(async (em) => {
        const locked = await this.invitations.lockMembership(em, membershipId);
        if (locked.status !== MembershipStatus.Invited) throw PosErrors.inviteeNotEditable();
        const changed: string[] = [];
        const set = <K extends 'lastName' | 'firstName' | 'middleName' | 'email'>(
          field: K,
          value: Membership[K] | undefined,
        ) => {
          if (value === undefined || value === locked[field]) return;
          locked[field] = value;
          changed.push(field);
        };
        set('lastName', dto.lastName);
        set('firstName', dto.firstName);
        set('middleName', dto.middleName === undefined ? undefined : dto.middleName || null);
        set('email', dto.email === undefined ? undefined : normalizeEmail(dto.email));
        if (snils !== undefined && snils?.snilsDigest !== locked.snilsDigest) {
          locked.snilsDigest = snils?.snilsDigest ?? null;
          locked.snilsLast3 = snils?.snilsLast3 ?? null;
          changed.push('snils');
        }
        // The row first: an address live in another account stops here, before any mail.
        await em.flush();
        let revoked = 0;
        if (changed.includes('email')) {
          revoked = await this.invitations.revokeAll(em, locked, 'email_changed');
          await this.invitations.issue(em, locked);
        }
        this.audit.record(
          {
            type: 'pos.member.invitee_edited',
            actorUserId: user.id,
            organizationId: organization.id,
            client,
            details: { membershipId, changed, revoked },
          },
          em,
        );
        await em.flush();
        return locked;
      });
      return MemberResponse.of(membership);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw PosErrors.emailTaken();
      throw error;
    }
  }

  /**
   * A fresh link to every invitee of the organisation (not the ones below it), one transaction
   * each. An address that has had its invitations for the hour is skipped and counted, never
   * mailed: the limit is the same as for one re-send.
   */
  async resendAll(
    user: User,
    organizationId: string,
    client: ClientInfo,
  ): Promise<ResendAllResponse> {
    const organization = await this.access.administered(user, organizationId);
    const invited = await this.em.find(
      Membership,
      { organization, status: MembershipStatus.Invited },
      { fields: ['id'], orderBy: { id: 'asc' } },
    );
    // The day's invitation cap for all of them at once: refused as a whole, nothing sent.
    await this.invitations.assertDailyRoom(this.em, new Map([[organization.id, invited.length]]));
    let sent = 0;
    let skipped = 0;
    for (const { id } of invited) {
      try {
        await this.members.resend(user, id, client);
        sent += 1;
      } catch (error) {
        // Accepted or archived meanwhile: no longer an invitee, neither sent nor skipped.
        if (error instanceof DomainError && error.code === 'wrong_status') continue;
        if (!(error instanceof DomainError) || error.code !== 'resend_limit') throw error;
        skipped += 1;
      }
    }
    await this.audit.write({
      type: 'pos.invitation.resent_all',
      actorUserId: user.id,
      organizationId: organization.id,
      client,
      details: { sent, skipped },
    });
    return { sent, skipped };
  }
}
