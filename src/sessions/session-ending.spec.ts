import { describe, expect, it } from '@jest/globals';
import { endedColumns, endSession } from './session-ending.js';

describe('endSession', () => {
  const at = new Date('2026-01-01T10:00:00Z');

  it('ends a live session with its reason and time', () => {
    const session = { revokedAt: null as Date | null, revokedReason: null as string | null };
    expect(endSession(session, 'logout', at)).toBe(true);
    expect(session).toEqual({ revokedAt: at, revokedReason: 'logout' });
  });

  it('keeps the first end: a second reason does not overwrite it', () => {
    const session = { revokedAt: null as Date | null, revokedReason: null as string | null };
    endSession(session, 'reauthenticated', at);
    expect(endSession(session, 'logout', new Date(at.getTime() + 1000))).toBe(false);
    expect(session).toEqual({ revokedAt: at, revokedReason: 'reauthenticated' });
  });

  it('gives a bulk update the same columns', () => {
    expect(endedColumns('password_reset', at)).toEqual({
      revokedAt: at,
      revokedReason: 'password_reset',
    });
  });
});
