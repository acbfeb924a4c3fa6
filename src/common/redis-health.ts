/** What the throttling store says of Redis when asked by /health/ready. */
export interface RedisHealthReport {
  reachable: boolean;
  /** Where throttling counts go now: Redis, shared by every instance, or this instance alone. */
  throttling: 'redis' | 'local';
  responseTimeMs?: number;
  message?: string;
}

/**
 * A port: the throttling store (src/throttling) answers it, so that the health check here needs
 * no import of the feature. Provided only when REDIS_URL is set.
 */
export abstract class RedisHealth {
  /** A real round trip, bounded by the Redis command timeout. */
  abstract check(): Promise<RedisHealthReport>;
}
