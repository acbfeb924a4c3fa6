import { MikroORM } from '@mikro-orm/postgresql';
import { type DynamicModule, Module } from '@nestjs/common';
import { type ThrottlerStorage } from '@nestjs/throttler';
import { RedisHealth } from '../common/redis-health.js';
import { PostgresThrottlerStorage } from './postgres-throttler.storage.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

export const THROTTLER_STORAGE = Symbol('THROTTLER_STORAGE');

/**
 * Where throttling counts live: never in one process, so every instance behind the load balancer
 * sees the same counts — Redis when REDIS_URL is set, PostgreSQL otherwise. (While Redis fails,
 * each instance counts alone: RedisThrottlerStorage.)
 *
 * Import the one module this returns wherever it is needed (the throttler, the health check):
 * each call makes a store of its own, with a Redis connection of its own.
 */
@Module({})
export class ThrottlingStorageModule {
  /** `namespace`: what every instance of one deployment shares (its database). */
  static forRoot(redisUrl: string | undefined, namespace: string): DynamicModule {
    if (redisUrl)
      return {
        module: ThrottlingStorageModule,
        providers: [
          {
            provide: THROTTLER_STORAGE,
            useFactory: () => RedisThrottlerStorage.connect(redisUrl, namespace),
          },
          // /health/ready reports Redis only when there is one.
          { provide: RedisHealth, useExisting: THROTTLER_STORAGE },
        ],
        exports: [THROTTLER_STORAGE, RedisHealth],
      };
    return {
      module: ThrottlingStorageModule,
      providers: [
        {
          provide: THROTTLER_STORAGE,
          // The general limit is batched per instance; the credentials limit stays exact.
          useFactory: (orm: MikroORM): ThrottlerStorage =>
            new PostgresThrottlerStorage(orm, ['default']),
          inject: [MikroORM],
        },
      ],
      exports: [THROTTLER_STORAGE],
    };
  }
}
