import { type LoggerService } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Level, type Logger } from 'pino';
import { redactPath } from './logger.js';

/**
 * The access log and the request-scoped logger, in place of pino-http and nestjs-pino's middleware
 * (measured on 2026-12-04: the two, mounted through Nest's middleware consumer, were about a quarter
 * of the CPU a no-op request costs). What a request pays for now: its id, one listener and one
 * AsyncLocalStorage context. The child logger that carries the request's id, method and path, and
 * its redaction, is made only when something logs in the request: the access line itself is
 * at debug for a success and is not written at the usual levels.
 *
 * The fields are those pino-http wrote: `req` {id, method, path} on every line logged in a
 * request, and at the end «request completed» (or «request aborted» when the answer was not
 * finished, «request errored» for a 5xx) with `res` {statusCode} and `responseTime` in
 * milliseconds; the level is error for a 5xx, info for a 4xx, debug otherwise. Unlike pino-http's:
 * the line comes at the response's 'close', a 5xx carries no made-up `err` (the exception filter
 * logs the cause), and the time counts from the first middleware, so it includes the body upload.
 */

declare module 'node:http' {
  interface IncomingMessage {
    /** The request's id (X-Request-Id), given by requestLogging. */
    id?: string;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/** One request's logging context. */
class RequestLog {
  private child: Logger | undefined;

  constructor(
    private readonly root: Logger,
    readonly id: string,
    private readonly method: string | undefined,
    /** As it arrived: routers rewrite `req.url` while they route. Redacted when first logged. */
    private readonly url: string,
  ) {}

  get logger(): Logger {
    return (this.child ??= this.root.child({
      req: { id: this.id, method: this.method, path: redactPath(this.url) },
    }));
  }
}

const current = new AsyncLocalStorage<RequestLog>();

/** A request's id: the caller's X-Request-Id when it looks like one, otherwise a new one. */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function levelOf(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'info' : 'debug';
}

/** The middleware: gives the request its id (`req.id`) and its logging context, logs its end. */
export function requestLogging(
  root: Logger,
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    // The server may have given the id already (Fastify's genReqId); it is echoed back.
    req.id ??= requestIdFor(req);
    res.setHeader('X-Request-Id', req.id);
    const log = new RequestLog(root, req.id, req.method, req.url ?? '');
    const started = performance.now();
    // A response emits 'close' once it is done: after 'finish' when it was answered, on its own
    // when the client went away first.
    res.once('close', () => {
      const level = levelOf(res.statusCode);
      if (!root.isLevelEnabled(level)) return;
      const message = !res.writableFinished
        ? 'request aborted'
        : res.statusCode >= 500
          ? 'request errored'
          : 'request completed';
      log.logger[level](
        {
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        message,
      );
    });
    current.run(log, next);
  };
}

/** The logger of the request being served (its lines carry `req`), else the root logger. */
export function loggerInScope(root: Logger): Logger {
  return current.getStore()?.logger ?? root;
}

/**
 * Nest's own messages and those of `new Logger(context)` in the services, written by pino: `log`
 * at info, `verbose` at trace, the context as `context`, an Error as `err`; within a request on
 * the request's logger. (What nestjs-pino's Logger did, on the scope above.)
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly root: Logger) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const logger = loggerInScope(this.root);
    if (!logger.isLevelEnabled(level)) return;
    // Nest passes the context last.
    const fields: Record<string, unknown> = {};
    const rest = params.length > 0 ? params.slice(0, -1) : params;
    if (params.length > 0) fields.context = params.at(-1);
    if (message instanceof Error) {
      fields.err = message;
      logger[level](fields, ...(rest as []));
    } else if (typeof message === 'object' && message !== null) {
      logger[level](Object.assign(fields, message), ...(rest as []));
    } else if (level === 'error' && typeof message === 'string' && isStackTrace(rest)) {
      // Nest's exception handlers call error(message, stack, context).
      const err = new Error(message);
      err.stack = rest[0];
      fields.err = err;
      logger[level](fields);
    } else {
      logger[level](fields, String(message), ...(rest as []));
    }
  }
}

function isStackTrace(rest: unknown[]): rest is [string] {
  return rest.length === 1 && typeof rest[0] === 'string' && /\n\s*at /.test(rest[0]);
}
