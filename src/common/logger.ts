import { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { type AppConfig } from '../config/app-config.js';

/**
 * Paths that may carry secrets. Request bodies are never logged at all; these cover headers and
 * anything a handler might attach by mistake.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.newPasswordRepeat',
  '*.accessToken',
  '*.token',
];

/**
 * One logger for the whole process: HTTP, ORM, embedded PostgreSQL and start-up. JSON lines
 * (LOG_FORMAT=json), or readable lines (LOG_FORMAT=pretty, the development default) with the same
 * entries, redaction and levels; on stdout, or on `destination` (tests, the command line's stderr).
 */
export function createRootLogger(
  config: Pick<AppConfig, 'logLevel'> & Partial<Pick<AppConfig, 'logFormat'>>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'identity-link' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: requestFields, res: responseFields },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (config.logFormat === 'pretty')
    return pino(
      options,
      prettyStream(destination ?? pino.destination({ fd: 1, sync: true }), !destination),
    );
  return destination ? pino(options, destination) : pino(options);
}

/** Fields folded into the readable line itself rather than printed beneath it. */
const FOLDED = ['pid', 'hostname', 'service', 'context', 'component', 'req', 'res', 'responseTime'];

interface FoldedFields {
  context?: string;
  component?: string;
  req?: { method?: string; path?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

/**
 * Each JSON line made readable as pino writes it, in this thread: pino-pretty's prettifier, not its
 * stream or a worker transport, so a line logged just before process.exit() is written too. Loaded
 * only here: pino-pretty is a development dependency, and production never asks for it (loadConfig
 * refuses LOG_FORMAT=pretty there).
 *
 *   [10:15:02.113] INFO: [embedded-postgres] embedded PostgreSQL is running
 *       port: 37067
 *   [10:15:11.402] INFO: request completed POST /api/v1/auth/login → 401 (83 ms)
 */
function prettyStream(target: DestinationStream, stdout: boolean): DestinationStream {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const prettify = prettyFactory({
    colorize: stdout && process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: FOLDED.join(','),
    messageFormat: (log, messageKey) => {
      const { context, component, req, res, responseTime } = log as FoldedFields;
      const source = context ?? component;
      const raw = log[messageKey];
      const message = typeof raw === 'string' ? raw : raw === undefined ? '' : JSON.stringify(raw);
      const request = req?.method ? ` ${req.method} ${req.path ?? ''}` : '';
      const status = res?.statusCode ? ` → ${res.statusCode}` : '';
      const took = responseTime !== undefined ? ` (${responseTime} ms)` : '';
      return `${source ? `[${source}] ` : ''}${message}${request}${status}${took}`;
    },
  });
  return { write: (line: string) => target.write(prettify(line)) };
}

/**
 * Link tokens travel in the path: logs keep the route, never the token. Routes match whatever the
 * case, and a request line may name the whole URL (`GET http://host/path`): both are redacted.
 */
export function redactPath(url: string): string {
  const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(url)
    ? url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '')
    : url;
  const segments = path.split(/[?#]/)[0].split('/');
  // Matched as the router matches: on decoded segments (`/%70os/invitations/…` is the invitation's
  // page), while the line keeps the path as it came.
  const route = segments.slice(1, 3).map((segment) => decodedSegment(segment).toLowerCase());
  const tokenAt =
    route[0] === 'pos' && route[1] === 'invitations'
      ? 3
      : route[0] === 'reset-password' || route[0] === 'verify-email'
        ? 2
        : -1;
  if (tokenAt > 0 && segments[tokenAt]) segments[tokenAt] = '[token]';
  return segments.join('/');
}

/**
 * A request or a response logged as such (`{ req }`, `{ res }`) by mistake shows what the access
 * line shows, never its headers, cookies or query string. The request's own bindings (already
 * these fields, src/common/request-logging.ts) pass as they are.
 */
function requestFields(req: unknown): unknown {
  if (!(req instanceof IncomingMessage)) return req;
  return { id: req.id, method: req.method, path: redactPath(req.url ?? '') };
}

function responseFields(res: unknown): unknown {
  return res instanceof ServerResponse ? { statusCode: res.statusCode } : res;
}

/**
 * A path segment as the router reads it: percent-escapes decoded (`%70os` is `pos`). One whose
 * escapes do not decode is returned as it is; the router refuses it (400).
 */
export function decodedSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
