import { describe, expect, it } from '@jest/globals';
import { RECENT_AUTHENTICATION_MS, recentlyAuthenticated } from './session-rules.js';

describe('recentlyAuthenticated', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  const at = (msAgo: number) => ({ authenticatedAt: new Date(now - msAgo) });

  it('holds for a login within the last 10 minutes, the limit included', () => {
    expect(recentlyAuthenticated(at(0), now)).toBe(true);
    expect(recentlyAuthenticated(at(RECENT_AUTHENTICATION_MS), now)).toBe(true);
  });
  it('fails a millisecond later', () => {
    expect(recentlyAuthenticated(at(RECENT_AUTHENTICATION_MS + 1), now)).toBe(false);
  });
  it('is ten minutes', () => {
    expect(RECENT_AUTHENTICATION_MS).toBe(600_000);
  });
});
