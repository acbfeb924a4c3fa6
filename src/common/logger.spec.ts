import { describe, expect, it } from '@jest/globals';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { createRootLogger, redactPath } from './logger.js';

/** A destination that keeps what the logger wrote. */
function collected(): { write(chunk: string): void; text(): string } {
  const chunks: string[] = [];
  return { write: (chunk: string) => void chunks.push(chunk), text: () => chunks.join('') };
}

describe('the root logger', () => {
  it('writes readable lines with LOG_FORMAT=pretty: source and request folded into one line, secrets redacted', () => {
    const out = collected();
    const logger = createRootLogger({ logLevel: 'info', logFormat: 'pretty' }, out);
    logger
      .child({ component: 'embedded-postgres' })
      .info({ port: 5433 }, 'embedded PostgreSQL is running');
    logger.info(
      {
        req: { id: 'r1', method: 'POST', path: '/api/v1/auth/login' },
        res: { statusCode: 401 },
        responseTime: 83,
      },
      'request completed',
    );
    logger.warn({ body: { password: 'Secret#2026x' } }, 'something attached a body');
    logger.debug('below the level');
    const lines = out.text().split('\n');
    expect(lines[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[embedded-postgres\] embedded PostgreSQL is running$/,
    );
    expect(lines[1]).toBe('    port: 5433');
    expect(lines[2]).toMatch(
      / INFO: request completed POST \/api\/v1\/auth\/login → 401 \(83 ms\)$/,
    );
    expect(out.text()).not.toContain('Secret#2026x');
    expect(out.text()).toContain('[redacted]');
    expect(out.text()).not.toContain('below the level');
    expect(out.text()).not.toMatch(/^\{/m);
  });

  it('writes one JSON object a line otherwise', () => {
    const out = collected();
    createRootLogger({ logLevel: 'info', logFormat: 'json' }, out).info({ port: 5433 }, 'running');
    expect(JSON.parse(out.text())).toMatchObject({
      level: 30,
      msg: 'running',
      port: 5433,
      service: 'identity-link',
    });
  });
});

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

  it('keep no token whatever the case of the route, or when the request line names the whole URL', () => {
    const token = 'q384O9LK_eSjT1uEIZOXUnRBT9W2D-gLQx-QSaCdca0';
    expect(redactPath(`/Reset-Password/${token}`)).toBe('/Reset-Password/[token]');
    expect(redactPath(`http://identity.example/pos/invitations/${token}/accept`)).toBe(
      '/pos/invitations/[token]/accept',
    );
    expect(redactPath(`/verify-email/${token}#x`)).toBe('/verify-email/[token]');
  });

  // The router decodes a path before it matches it: `/%70os/invitations/<token>` reaches the
  // invitation's page, so its token must not reach the log either.
  it('keep no token when the route is spelled with percent-escapes the router decodes', () => {
    const token = 'q384O9LK_eSjT1uEIZOXUnRBT9W2D-gLQx-QSaCdca0';
    expect(redactPath(`/%70os/invitations/${token}/accept`)).toBe(
      '/%70os/invitations/[token]/accept',
    );
    expect(redactPath(`/pos/%69nvitations/${token}`)).toBe('/pos/%69nvitations/[token]');
    expect(redactPath(`/reset%2Dpassword/${token}`)).toBe('/reset%2Dpassword/[token]');
    expect(redactPath(`/%56ERIFY-email/${token}`)).toBe('/%56ERIFY-email/[token]');
    // An escape that does not decode is kept as it is, and the rest still redacted.
    expect(redactPath(`/pos/invitations/${token}%E0%A4%A`)).toBe('/pos/invitations/[token]');
    expect(redactPath('/api/v1/%ED%A0%80')).toBe('/api/v1/%ED%A0%80');
    expect(redactPath('/reset-password/')).toBe('/reset-password/');
  });
});

describe('a request or response logged as such', () => {
  it('shows what the access line shows: no headers, cookies or query string', () => {
    const out = collected();
    const logger = createRootLogger({ logLevel: 'info', logFormat: 'json' }, out);
    const req = new IncomingMessage(new Socket());
    req.method = 'POST';
    req.url = '/reset-password/secret-token-123?code=abc';
    req.headers = { cookie: '__Host-il_session=session-secret', authorization: 'Bearer t0ken' };
    req.id = 'r-12345678';
    const res = new ServerResponse(req);
    res.statusCode = 410;
    logger.info({ req, res }, 'logged by mistake');
    expect(JSON.parse(out.text())).toMatchObject({
      req: { id: 'r-12345678', method: 'POST', path: '/reset-password/[token]' },
      res: { statusCode: 410 },
    });
    expect(Object.keys(JSON.parse(out.text()).req as object)).toEqual(['id', 'method', 'path']);
    expect(out.text()).not.toMatch(/secret|t0ken|code=abc/);
  });
});
