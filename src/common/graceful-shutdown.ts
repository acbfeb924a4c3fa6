import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type NextFunction, type Request, type Response } from 'express';
import { type Server } from 'node:http';

/** How long in-flight requests may take to finish after SIGTERM. */
const DRAIN_TIMEOUT_MS = 15_000;

/**
 * SIGTERM without dropped requests: the listener closes first (new connections go to the other
 * instances; readiness answers 503), requests already accepted finish, and only then do Nest's
 * shutdown hooks stop the workers and close the pool.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger('GracefulShutdown');
  private inFlight = 0;
  private idle: (() => void) | null = null;
  draining = false;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Counts requests from arrival to the end of their response. */
  readonly track = (_req: Request, res: Response, next: NextFunction): void => {
    this.inFlight += 1;
    res.once('close', () => {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.idle?.();
    });
    next();
  };

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server?.listening) {
      server.close();
      server.closeIdleConnections();
    }
    if (this.inFlight > 0) {
      this.logger.log({ signal, inFlight: this.inFlight }, 'draining requests before shutdown');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS).unref();
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
