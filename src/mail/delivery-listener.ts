import { type EntityManager } from '@mikro-orm/postgresql';
import { MailMessage, MailStatus } from './mail-message.entity.js';

/** Where a message stands, as the one it was about shows it (`sending` counts as queued). */
export type DeliveryUpdate =
  { state: 'queued' } | { state: 'sent' } | { state: 'retrying' | 'failed'; error: string | null };

/**
 * What the outbox tells the feature a message was about. The outbox knows messages only by the
 * references their sender gave (`enqueue`'s refs); the feature above that sent them (ПОС: its
 * members and invitations) implements the port, so mail never imports it.
 */
export interface DeliveryListenerPort {
  /**
   * Whether a message carrying this invitation should still go out: a re-send, an acceptance or
   * an archive that came first killed the link, and so the mail.
   */
  invitationLive(em: EntityManager, invitationId: string): Promise<boolean>;
  /** The newest message of a membership moved on; written in the outbox's transaction. */
  delivery(em: EntityManager, membershipId: string, update: DeliveryUpdate): Promise<void>;
}

/** The injection token of DeliveryListenerPort. */
export const DELIVERY_LISTENER = Symbol('DELIVERY_LISTENER');

/** What the message's membership shows of each status (a cancelled message shows nothing). */
function deliveryUpdate(message: MailMessage): DeliveryUpdate | null {
  switch (message.status) {
    case MailStatus.Queued:
    case MailStatus.Sending:
      return { state: 'queued' };
    case MailStatus.Sent:
      return { state: 'sent' };
    case MailStatus.Retrying:
    case MailStatus.Failed:
      return { state: message.status, error: message.lastError };
    case MailStatus.Cancelled:
      return null;
  }
}

/**
 * Tells the listener where a message's membership stands: the state of its newest message only,
 * so an older one cannot overwrite it.
 */
export async function reportDelivery(
  em: EntityManager,
  message: MailMessage,
  listener: DeliveryListenerPort,
): Promise<void> {
  const update = deliveryUpdate(message);
  if (!message.membershipId || !update) return;
  const newest = await em.findOne(
    MailMessage,
    { membershipId: message.membershipId },
    { orderBy: { createdAt: 'desc' } },
  );
  if (newest?.id !== message.id) return;
  await listener.delivery(em, message.membershipId, update);
}
