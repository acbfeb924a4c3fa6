import { type EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';

/** Whose sessions may just have ended: one person's, or everyone's (the operator's command). */
export type EndedScope = { userId: string } | { everyone: true };

/**
 * What a feature above the sessions does when sessions end or one replaces another: the OpenID
 * Provider ends the provider sessions, grants and applications' sessions tied to them. A port
 * owned here and implemented there, so that sessions never import the provider.
 */
export interface SessionEndListener {
  /**
   * Called inside the transaction that ended them, after the flush: the listener looks at the
   * sessions' rows itself (revoked, the user blocked or reset), so a scope may be wider than what
   * ended.
   */
  sessionsEnded(em: EntityManager, scope: EndedScope): Promise<void>;
  /** The same browser goes on under a new session (the password re-entered). */
  sessionReplaced(em: EntityManager, previousId: string, nextId: string): Promise<void>;
}

/**
 * The one place every way of ending sessions reports to: «Выйти», «Завершить» and «Завершить все
 * остальные», a password change or reset, a block or archive, an administrator's end, an unlinked
 * Госуслуги, and the operator's `sessions:end-all`. Each of those writes its rows and then calls
 * `ended` in the same transaction.
 */
@Injectable()
export class SessionEndHooks {
  private readonly listeners: SessionEndListener[] = [];

  listen(listener: SessionEndListener): void {
    this.listeners.push(listener);
  }

  async ended(em: EntityManager, scope: EndedScope): Promise<void> {
    for (const listener of this.listeners) await listener.sessionsEnded(em, scope);
  }

  async replaced(em: EntityManager, previousId: string, nextId: string): Promise<void> {
    for (const listener of this.listeners) await listener.sessionReplaced(em, previousId, nextId);
  }
}
