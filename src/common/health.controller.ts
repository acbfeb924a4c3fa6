import { MikroORM } from '@mikro-orm/postgresql';
import { Controller, Get, Optional } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from './auth-decorators.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { ListenerHealth } from './listener-health.js';
import { RedisHealth } from './redis-health.js';

const DATABASE_TIMEOUT_MS = 1500;

/**
 * Probes are not throttled: a load balancer polls them from a few addresses, and a throttled probe
 * would take a healthy instance out of rotation exactly when someone floods the service.
 */
@ApiTags('health')
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly orm: MikroORM,
    private readonly shutdown: GracefulShutdown,
    private readonly listener: ListenerHealth,
    /** Only with REDIS_URL. */
    @Optional() private readonly redisHealth?: RedisHealth,
  ) {}

  /** The process answers: for restarts, not for traffic. */
  @Get('live')
  @Public()
  live() {
    return { status: 'ok' };
  }

  /** The database answers a query: send traffic. */
  @Get('ready')
  @Public()
  @HealthCheck()
  ready() {
    const redis = this.redisHealth;
    return this.health.check([
      () => this.database(),
      () => this.accepting(),
      () => this.sessionCache(),
      ...(redis ? [() => this.redis(redis)] : []),
    ]);
  }

  /**
   * The session cache's LISTEN connection. Without it every lookup reads the database: slower,
   * still correct, so `degraded` (HTTP still 200) rather than `down`.
   */
  private sessionCache() {
    const indicator = this.indicators.check('sessionCache');
    const state = this.listener.listenerState;
    return state === 'down'
      ? indicator.degraded({
          listener: state,
          message: 'LISTEN connection down: lookups read the database',
        })
      : indicator.up({ listener: state });
  }

  /**
   * Redis holds only throttling counters; while it fails each instance counts alone and still
   * serves. So it is `degraded` (the report's status too, HTTP still 200), not `down`: every
   * instance shares the one Redis, and a 503 would take them all out of rotation at once.
   */
  private async redis(redisHealth: RedisHealth) {
    const indicator = this.indicators.check('redis');
    const { reachable, throttling, responseTimeMs, message } = await redisHealth.check();
    return reachable
      ? indicator.up({ throttling, responseTimeMs })
      : indicator.degraded({ throttling, message: `unreachable: ${message ?? 'no answer'}` });
  }

  /** Draining after SIGTERM: the load balancer should send traffic elsewhere. */
  private accepting() {
    const indicator = this.indicators.check('http');
    return this.shutdown.draining ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }

  /**
   * A real round trip that also asks whether the server takes writes: a replica, a failover in
   * progress or `default_transaction_read_only` would answer every sign-in 503. (Terminus's
   * MikroOrmHealthIndicator asks isConnected(), which MikroORM 7 answers false until the lazy pool
   * has run its first query.)
   */
  private async database() {
    const indicator = this.indicators.check('database');
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const [row] = await Promise.race([
        this.orm.em
          .getConnection()
          .execute<{ read_only: string }[]>(
            "select current_setting('transaction_read_only') as read_only",
          ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), DATABASE_TIMEOUT_MS);
        }),
      ]);
      const responseTimeMs = Math.round(performance.now() - started);
      if (row?.read_only !== 'off')
        return indicator.down({ message: 'read-only: writes are refused', responseTimeMs });
      return indicator.up({ responseTimeMs });
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
  }
}
