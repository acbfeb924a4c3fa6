import { describe, expect, it } from '@jest/globals';
import { type EntityManager } from '@mikro-orm/postgresql';
import { AuditEvent } from './audit-event.entity.js';
import { AuditService } from './audit.service.js';

/** An EntityManager whose forks remember what was persisted and whether it was flushed. */
function fakeEm() {
  const committed: AuditEvent[] = [];
  const fork = () => {
    const pending: AuditEvent[] = [];
    return {
      persist: (event: AuditEvent) => pending.push(event),
      flush: () => {
        committed.push(...pending.splice(0));
        return Promise.resolve();
      },
    };
  };
  return { em: { fork } as unknown as EntityManager, committed };
}

describe('AuditService.refuse', () => {
  it('commits the event on its own, then throws the refusal', async () => {
    const { em, committed } = fakeEm();
    const refusal = new Error('refused');
    await expect(
      new AuditService(em).refuse(
        { type: 'recovery.failed', targetUserId: 'u1', details: { code: 'link_invalid' } },
        refusal,
      ),
    ).rejects.toBe(refusal);
    expect(committed).toHaveLength(1);
    expect(committed[0]).toBeInstanceOf(AuditEvent);
    expect(committed[0]).toMatchObject({
      type: 'recovery.failed',
      targetUserId: 'u1',
      details: { code: 'link_invalid' },
    });
  });
});
