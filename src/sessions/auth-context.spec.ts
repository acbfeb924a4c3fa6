import { describe, expect, it } from '@jest/globals';
import { type Request } from 'express';
import { type AuthContext, authOf } from './auth-context.js';

describe('authOf', () => {
  it('gives the caller the guard authenticated', () => {
    const auth = { via: 'cookie' } as AuthContext;
    expect(authOf({ auth } as Request, 'CurrentAuth')).toBe(auth);
  });

  it('throws, naming the reader, on a route the guard did not authenticate', () => {
    expect(() => authOf({} as Request, 'Call')).toThrow(
      'Call used on a route without authentication',
    );
  });
});
