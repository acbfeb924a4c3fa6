import { describe, expect, it } from '@jest/globals';
import { redactPath } from './logger.js';

describe('request log paths', () => {
  it('keep the route of a link, never its token, and drop query strings', () => {
    const token = 'q384O9LK_eSjT1uEIZOXUnRBT9W2D-gLQx-QSaCdca0';
    expect(redactPath(`/pos/invitations/${token}/accept?x=1`)).toBe(
      '/pos/invitations/[token]/accept',
    );
    expect(redactPath(`/reset-password/${token}`)).toBe('/reset-password/[token]');
    expect(redactPath(`/verify-email/${token}`)).toBe('/verify-email/[token]');
    expect(redactPath('/auth/gosuslugi/callback?code=secret&state=s')).toBe(
      '/auth/gosuslugi/callback',
    );
    expect(redactPath('/api/v1/me')).toBe('/api/v1/me');
  });
});
