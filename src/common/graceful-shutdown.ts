import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type NextFunction, type Request, type Response } from 'express';
import { type Server } from 'node:http';
import { AppConfig } from '../config/app-config.js';

/**
 * SIGTERM without dropped requests, and without waiting on the clients: the listener closes (new
 * connections go to the other instances; readiness answers 503 on connections still open), idle
 * kept-alive connections close, and every answer from then on carries `Connection: close`. A
 * request already on a connection the service accepted is still served, since refusing it would
 * fail a client that did nothing wrong; its answer then ends the connection, so a client (or a
 * proxy with upstream keep-alive) that sends request after request cannot keep the process
 * alive: it reconnects and reaches another instance. Once every connection has ended, or at the
 * drain timeout (SHUTDOWN_DRAIN_TIMEOUT) when the rest are cut, Nest's shutdown hooks stop the
 * workers and close the pool: no request can reach them closed.
 */
@Injectable()
export class GracefulShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger('GracefulShutdown');
  private readonly inFlight = new Set<Response>();
  private server: Server | undefined;
  draining = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  /** Counts requests from arrival to the end of their response; while draining, closes after. */
  readonly track = (_req: Request, res: Response, next: NextFunction): void => {
    this.inFlight.add(res);
    if (this.draining) closeAfterAnswer(res);
    res.once('close', () => {
      this.inFlight.delete(res);
      // An answer whose headers went out before the drain began left its connection kept alive:
      // now idle, it is closed like the others were at the signal.
      if (this.draining) this.server?.closeIdleConnections();
    });
    next();
  };

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    this.server = server;
    for (const res of this.inFlight) closeAfterAnswer(res);
    // 'close' comes once the listener is closed and every connection has ended. close() also
    // closes the connections that are idle now (a request being read counts as busy).
    const ended = new Promise<void>((resolve) => server.close(() => resolve()));
    const timeoutMs = this.config.shutdown.drainTimeoutMs;
    this.logger.log(
      { signal, inFlight: this.inFlight.size, drainTimeoutMs: timeoutMs },
      'draining HTTP connections',
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ended.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      // A request that has not finished by now is stuck or far slower than any the service
      // serves; past the drain timeout the orchestrator would kill the process anyway.
      this.logger.warn(
        { inFlight: this.inFlight.size, drainTimeoutMs: timeoutMs },
        'drain timeout: closing the connections still open',
      );
      server.closeAllConnections();
      await ended;
    }
    this.logger.log('HTTP server drained');
  }
}

/** The connection ends after this answer (RFC 9112 §9.6); a no-op once its headers are out. */
function closeAfterAnswer(res: Response): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
