import { pino, type DestinationStream, type Logger } from 'pino';
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

/** One JSON logger for the whole process: HTTP, ORM, embedded PostgreSQL and start-up. */
export function createRootLogger(
  config: Pick<AppConfig, 'logLevel'>,
  destination?: DestinationStream,
): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'identity-link' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Link tokens travel in the path: logs keep the route, never the token. */
export function redactPath(url: string): string {
  return url
    .split('?')[0]
    .replace(/^(\/(?:pos\/invitations|reset-password|verify-email)\/)[^/]+/, '$1[token]');
}
