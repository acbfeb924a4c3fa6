import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { pino, type Level, type Logger } from 'pino';
import { loggerInScope, PinoNestLogger, requestLogging } from './request-logging.js';

interface Line {
  level: number;
  msg?: string;
  req?: { id: string; method: string; path: string };
  res?: { statusCode: number };
  responseTime?: number;
  context?: string;
  err?: { message: string; stack: string };
  [field: string]: unknown;
}

/** A root logger writing JSON lines into an array, and how many child loggers it has made. */
function rootLogger(level: Level) {
  const lines: Line[] = [];
  let children = 0;
  const root = pino(
    { level, onChild: () => void children++ },
    { write: (line: string) => void lines.push(JSON.parse(line) as Line) },
  );
  return { root, lines, children: () => children };
}

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running) await new Promise((resolve) => running.close(resolve));
});

/** A real HTTP server behind requestLogging; `handle` answers inside the request's scope. */
async function serve(root: Logger, handle: (res: ServerResponse) => void): Promise<string> {
  const logging = requestLogging(root);
  server = createServer((req, res) => logging(req, res, () => handle(res)));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The access line comes at the response's 'close', just after the client has its answer. */
async function settled(lines: Line[], count: number): Promise<void> {
  for (let i = 0; i < 100 && lines.length < count; i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('request logging', () => {
  it('gives each request an id, echoes a well-formed one, replaces any other', async () => {
    const { root } = rootLogger('warn');
    const base = await serve(root, (res) => res.end('ok'));
    const fresh = (await fetch(base)).headers.get('x-request-id');
    expect(fresh).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await fetch(base, { headers: { 'x-request-id': 'lb-7f3a9c01' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-7f3a9c01');
    const forged = await fetch(base, { headers: { 'x-request-id': 'a b"<script>' } });
    expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes the access line at the level of its status: request, status and time; link tokens and query strings left out', async () => {
    const { root, lines } = rootLogger('trace');
    let status = 200;
    const base = await serve(root, (res) => {
      res.statusCode = status;
      res.end();
    });
    const ids: (string | null)[] = [];
    for (status of [200, 404, 503]) {
      const answer = await fetch(`${base}/reset-password/secret-token-123?code=abc`);
      ids.push(answer.headers.get('x-request-id'));
      await settled(lines, ids.length);
    }
    expect(lines).toHaveLength(3);
    expect(lines.map((line) => [line.level, line.msg, line.res?.statusCode])).toEqual([
      [20, 'request completed', 200],
      [30, 'request completed', 404],
      [50, 'request errored', 503],
    ]);
    lines.forEach((line, i) => {
      expect(line.req).toEqual({ id: ids[i], method: 'GET', path: '/reset-password/[token]' });
      expect(line.responseTime).toEqual(expect.any(Number));
    });
    expect(JSON.stringify(lines)).not.toContain('secret-token-123');
    expect(JSON.stringify(lines)).not.toContain('code=abc');
  });

  it('says when the client left before the answer', async () => {
    const { root, lines } = rootLogger('debug');
    const base = await serve(root, () => undefined);
    const controller = new AbortController();
    const answered = fetch(base, { signal: controller.signal }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await answered;
    await settled(lines, 1);
    expect(lines).toEqual([expect.objectContaining({ level: 20, msg: 'request aborted' })]);
  });

  it('makes the request its child logger only when something logs in it', async () => {
    const { root, lines, children } = rootLogger('info');
    const base = await serve(root, (res) => res.end());
    for (let i = 0; i < 5; i++) await fetch(base);
    expect(children()).toBe(0);
    expect(lines).toEqual([]);
  });

  it("puts the request on every line logged while serving it (Nest's logger included), and only then", async () => {
    const { root, lines } = rootLogger('info');
    const nest = new PinoNestLogger(root);
    const base = await serve(root, (res) => {
      nest.log('handled', 'AccountsService');
      // Still the request's scope after an await.
      void Promise.resolve().then(() => {
        loggerInScope(root).info('later');
        res.end();
      });
    });
    const id = (await fetch(`${base}/api/v1/me`)).headers.get('x-request-id');
    nest.warn('no request here', 'Bootstrap');
    const req = { id, method: 'GET', path: '/api/v1/me' };
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'handled', context: 'AccountsService', req }),
      expect.objectContaining({ level: 30, msg: 'later', req }),
      expect.objectContaining({ level: 40, msg: 'no request here', context: 'Bootstrap' }),
    ]);
    expect(lines[2]).not.toHaveProperty('req');
  });
});

describe("Nest's messages through pino", () => {
  it('maps the levels, the context, fields, errors and the exception handlers’ stack argument', () => {
    const { root, lines } = rootLogger('trace');
    const nest = new PinoNestLogger(root);
    nest.verbose('wiring', 'InstanceLoader');
    nest.debug({ port: 5433 }, 'Database');
    nest.error(new Error('refused'), 'Mail');
    const stack = 'Error: boom\n    at handler (src/x.ts:1:1)';
    nest.error('boom', stack, 'ExceptionsHandler');
    nest.fatal('no config');
    expect(lines.map(({ level, msg, context }) => [level, msg, context])).toEqual([
      [10, 'wiring', 'InstanceLoader'],
      [20, undefined, 'Database'],
      [50, 'refused', 'Mail'],
      [50, 'boom', 'ExceptionsHandler'],
      [60, 'no config', undefined],
    ]);
    expect(lines[1].port).toBe(5433);
    expect(lines[2].err?.message).toBe('refused');
    expect(lines[3].err).toMatchObject({ message: 'boom', stack });
  });
});
