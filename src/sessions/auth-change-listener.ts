import { type Logger } from '@nestjs/common';
import pg from 'pg';

/** The channel the triggers of Migration20261124120000 and …150000 notify on: `s:<session id>`, `u:<user id>` or `*`. */
export const AUTH_CHANNEL = 'identity_link_auth';

const RECONNECT_DELAY_MS = 1000;
/** How often the LISTEN connection is asked to prove it is alive and caught up. */
const HEARTBEAT_INTERVAL_MS = 250;
/**
 * Memory answers only while a heartbeat sent less than this long ago has come back. PostgreSQL
 * delivers a listener's pending notifications before the answer to its next query, so that answer
 * proves every change committed before the heartbeat was sent has been applied here. A session
 * ended elsewhere is so refused here within this bound even when the listening connection (its
 * backend, the network, this event loop) stalls without breaking. SECURITY.md states it.
 */
export const HEARTBEAT_FRESH_MS = 750;

/** What the listener tells the session cache. */
export interface AuthChangeSink {
  /** A committed change: `s:<session id>`, `u:<user id>`, or `*` (or nothing) for everything. */
  changed(payload: string | undefined): void;
  /** What changed while nobody listened is unknown: everything must be forgotten. */
  reset(): void;
}

/**
 * The session cache's LISTEN connection to PostgreSQL, with its heartbeat: it reports every
 * committed change of sessions and users, and says whether memory may answer now (`fresh`). When
 * the connection drops it resets the cache and reconnects.
 */
export class AuthChangeListener {
  private listening = false;
  /** When the newest heartbeat that has come back was sent. */
  private confirmedAt = 0;
  private heartbeatInFlight = false;
  private late = false;
  private stopped = false;
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly connectionString: () => string | undefined,
    private readonly sink: AuthChangeSink,
    private readonly logger: Logger,
  ) {}

  /** Whether the connection is up. */
  get up(): boolean {
    return this.listening;
  }

  /** Whether memory may answer now: listening, and a recent heartbeat proves it caught up. */
  get fresh(): boolean {
    return this.listening && Date.now() - this.confirmedAt < HEARTBEAT_FRESH_MS;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.down();
  }

  async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString(),
      application_name: 'identity-link session cache',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === AUTH_CHANNEL) this.sink.changed(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    let sentAt: number;
    try {
      await client.connect();
      sentAt = Date.now();
      await client.query(`listen ${AUTH_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return;
    // Whatever changed while nobody listened is unknown: start empty.
    this.sink.reset();
    this.confirmedAt = sentAt;
    this.heartbeatInFlight = false;
    this.late = false;
    this.listening = true;
    this.logger.log('session cache on: listening for session and user changes');
    this.timer = setInterval(() => this.heartbeat(client), HEARTBEAT_INTERVAL_MS).unref();
  }

  /** One heartbeat at a time; one that never comes back ends the connection (query_timeout). */
  private heartbeat(client: pg.Client): void {
    if (!this.fresh && !this.late) {
      this.late = true;
      this.logger.warn('session cache paused: the LISTEN connection is late with its heartbeat');
    }
    if (this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    const sentAt = Date.now();
    client.query('select 1').then(
      () => {
        this.heartbeatInFlight = false;
        if (this.client !== client) return;
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
        if (this.late && this.fresh) {
          this.late = false;
          this.logger.log('session cache resumed: the LISTEN connection caught up');
        }
      },
      (error: unknown) => {
        this.heartbeatInFlight = false;
        this.lost(client, error);
      },
    );
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    if (this.listening)
      this.logger.warn(
        `session cache off until the database is back: ${error instanceof Error ? error.message : String(error)}`,
      );
    this.down();
    if (!this.stopped)
      this.timer = setTimeout(() => void this.listen(), RECONNECT_DELAY_MS).unref();
  }

  private down(): void {
    this.listening = false;
    this.sink.reset();
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners('notification');
    client?.on('error', () => undefined);
    client?.end().catch(() => undefined);
  }
}
