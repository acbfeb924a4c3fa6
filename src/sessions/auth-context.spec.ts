import { describe, expect, it } from '@jest/globals';
import { type HttpRequest } from '../common/http.js';
import { type AuthContext, authOf } from './auth-context.js';

describe('authOf', () => {
  it('gives the caller the guard authenticated', () => {
    const auth = { via: 'cookie' } as AuthContext;
    expect(authOf({ auth } as HttpRequest, 'CurrentAuth')).toBe(auth);
  });

  it('throws, naming the reader, on a route the guard did not authenticate', () => {
    expect(() => authOf({} as HttpRequest, 'Call')).toThrow(
      'Call used on a route without authentication',
    );
  });
});
