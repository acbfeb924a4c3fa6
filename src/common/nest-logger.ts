import { type LoggerService } from '@nestjs/common';

/**
 * Nest's account of its own wiring at start (each module initialised, each controller and route
 * mapped: over a hundred lines) says nothing an operator acts on: it is logged at debug, the rest
 * of Nest's messages at their own levels.
 */
const WIRING = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

export class WiringAtDebug implements LoggerService {
  constructor(
    private readonly inner: Required<Pick<LoggerService, 'debug' | 'verbose' | 'fatal'>> &
      LoggerService,
  ) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params.at(-1);
    if (typeof context === 'string' && WIRING.has(context)) this.inner.debug(message, ...params);
    else this.inner.log(message, ...params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.inner.error(message, ...params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.inner.warn(message, ...params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.inner.debug(message, ...params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.inner.verbose(message, ...params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.inner.fatal(message, ...params);
  }
}
