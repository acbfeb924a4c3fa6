import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Socket } from 'node:net';
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

/** How long the listener stays open after the signal, for requests already on their way. */
const ACCEPT_GRACE_MS = 1000;

/** What the drain needs to know of a connection to close it without losing a request. */
interface ConnectionState {
  answered: boolean;
  inFlight: number;
  /**
   * The socket's `bytesRead` when the last answer finished: more since then is a next request on
   * its way. Read from the count, not from a 'data' listener: such a listener takes the socket
   * from Node's HTTP parser, which otherwise reads it natively, and every request's bytes would
   * then pass through JavaScript streams («2026-12-05, 17:00» in docs/performance.md). Bytes read
   * before the answer finished count as its own: a pipelining client's next request whose head
   * was still incomplete then is not seen (a client that waits for each answer sends nothing
   * before it).
   */
  readAtAnswer: number;
}

@Injectable()
export class GracefulShutdown implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('GracefulShutdown');
  private readonly inFlight = new Set<ServerResponse>();
  private readonly connections = new Map<Socket, ConnectionState>();
  draining = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    server?.on('connection', (socket: Socket) => {
      this.connections.set(socket, { answered: false, inFlight: 0, readAtAnswer: 0 });
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /** Counts requests from arrival to the end of their response; while draining, closes after. */
  readonly track = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    this.inFlight.add(res);
    const socket = req.socket;
    const connection = this.connections.get(socket);
    if (connection) connection.inFlight += 1;
    if (this.draining) closeAfterAnswer(res);
    res.once('close', () => {
      this.inFlight.delete(res);
      if (connection) {
        connection.inFlight -= 1;
        connection.answered = true;
        connection.readAtAnswer = socket.bytesRead;
      }
      // An answer whose headers went out before the drain began left its connection kept alive:
      // now idle, it is closed like the others were at the signal.
      if (this.draining) this.closeKeptAlive();
    });
    next();
  };

  /**
   * Closes the kept-alive connections that wait for nothing: answered before, nothing in flight,
   * nothing read since. (The server's own closeIdleConnections() would also close a connection
   * accepted a moment ago whose first request has not been read yet.)
   */
  private closeKeptAlive(): void {
    for (const [socket, state] of this.connections)
      if (state.answered && state.inFlight === 0 && socket.bytesRead === state.readAtAnswer)
        socket.destroy();
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    for (const res of this.inFlight) closeAfterAnswer(res);
    this.closeKeptAlive();
    // Requests a client sent just before the signal may still be in the kernel's accept queue, or
    // on a connection accepted but not yet read; closing the listener resets the first, and its
    // closing of idle connections drops the second. For a moment the listener stays open (every
    // answer already says Connection: close, readiness says 503), so that they are read and
    // answered; a busy event loop makes that moment the longer one it needs.
    await new Promise<void>((resolve) => setTimeout(resolve, ACCEPT_GRACE_MS));
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
function closeAfterAnswer(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
