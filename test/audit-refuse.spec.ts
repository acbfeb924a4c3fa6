import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestContext } from '@mikro-orm/core';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { AuditService } from '../src/audit/audit.service.js';
import { User } from '../src/identity/user.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { uniqueLogin } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

describe('AuditService.refuse, on PostgreSQL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  }, STARTUP_TIMEOUT_MS);
  afterAll(() => t?.close());

  it('commits the event on its own, then throws the refusal', async () => {
    const audit = t.app.get(AuditService);
    const login = uniqueLogin();
    const refusal = new Error('refused');
    const marker = `refuse-${login}`;
    // As in a request: the service's EntityManager is the request's, and the refused attempt has
    // a change of its own pending there.
    await RequestContext.create(t.em(), async () => {
      RequestContext.getEntityManager()!.create(User, { login });
      await expect(
        audit.refuse(
          { type: 'recovery.failed', details: { code: 'link_invalid', marker } },
          refusal,
        ),
      ).rejects.toBe(refusal);
    });
    const events = (await t.em().find(AuditEvent, { type: 'recovery.failed' })).filter(
      (event) => event.details.marker === marker,
    );
    expect(events).toHaveLength(1);
    expect(events[0].details).toEqual({ code: 'link_invalid', marker });
    // Nothing of the attempt was flushed with the event.
    expect(await t.em().count(User, { login })).toBe(0);
  });
});
