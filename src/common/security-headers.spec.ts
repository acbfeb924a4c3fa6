import { describe, expect, it } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import helmet from 'helmet';
import request from 'supertest';
import { applyHeaders, recordHeaders } from './security-headers.js';

/** The headers of one answer from an Express app with `middleware` in front of a plain handler. */
async function headersFrom(
  middleware: (req: Request, res: Response, next: NextFunction) => void,
): Promise<Record<string, unknown>> {
  const app = express();
  app.use(middleware);
  app.get('/', (_req, res) => void res.send('ok'));
  const { headers } = await request(app).get('/');
  const { date: _date, ...rest } = headers as Record<string, unknown>;
  return rest;
}

describe('security headers computed once', () => {
  it('sets exactly what helmet sets, in one step (removing X-Powered-By too)', async () => {
    const csp = helmet.contentSecurityPolicy({
      useDefaults: false,
      directives: { 'default-src': ["'self'"], 'upgrade-insecure-requests': [] },
    });
    const others = helmet({
      contentSecurityPolicy: false,
      hsts: { maxAge: 31_536_000, includeSubDomains: true },
      referrerPolicy: { policy: 'same-origin' },
    });
    const steps = recordHeaders(csp, others);
    const byHelmet = await headersFrom((req, res, next) =>
      csp(req, res, () => others(req, res, next)),
    );
    const recorded = await headersFrom((_req, res, next) => {
      applyHeaders(res, steps);
      next();
    });
    expect(recorded).toEqual(byHelmet);
    expect(byHelmet['content-security-policy']).toBe(
      "default-src 'self';upgrade-insecure-requests",
    );
    expect(recorded['x-powered-by']).toBeUndefined();
  });

  it('refuses at start a middleware whose headers depend on the request or come later', () => {
    const readsRequest = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
      res.setHeader('X-Path', req.url ?? '');
      next();
    };
    expect(() => recordHeaders(readsRequest)).toThrow(/read the request \(url\)/);
    const later = (_req: IncomingMessage, _res: ServerResponse, next: () => void) =>
      void setImmediate(next);
    expect(() => recordHeaders(later)).toThrow(/did not call next at once/);
    const dynamicCsp = helmet.contentSecurityPolicy({
      useDefaults: false,
      directives: { 'default-src': [(req) => `'nonce-${String(req.url)}'`] },
    });
    expect(() => recordHeaders(dynamicCsp)).toThrow(/read the request/);
  });
});
