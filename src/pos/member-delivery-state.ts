import { type EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type DeliveryListenerPort, type DeliveryUpdate } from '../mail/delivery-listener.js';
import { Invitation } from './invitation.entity.js';
import { DeliveryState, Membership } from './membership.entity.js';

const STATES: Record<DeliveryUpdate['state'], DeliveryState> = {
  queued: DeliveryState.Queued,
  sent: DeliveryState.Sent,
  retrying: DeliveryState.Retrying,
  failed: DeliveryState.Failed,
};

/**
 * The outbox's DeliveryListenerPort: the administrator's member list shows where the invitation
 * mail stands, and a dead link's mail is not sent.
 */
@Injectable()
export class MemberDeliveryState implements DeliveryListenerPort {
  async invitationLive(em: EntityManager, invitationId: string): Promise<boolean> {
    const invitation = await em.findOne(Invitation, { id: invitationId });
    return invitation !== null && invitation.acceptedAt === null && invitation.revokedAt === null;
  }

  async delivery(em: EntityManager, membershipId: string, update: DeliveryUpdate): Promise<void> {
    const membership = await em.findOne(Membership, { id: membershipId });
    if (!membership) return;
    membership.deliveryState = STATES[update.state];
    membership.deliveryUpdatedAt = new Date();
    membership.deliveryError = 'error' in update ? update.error : null;
  }
}
