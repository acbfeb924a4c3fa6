import { MikroORM } from '@mikro-orm/postgresql';
import { type DynamicModule, Module } from '@nestjs/common';
import { type ThrottlerStorage } from '@nestjs/throttler';
import { PostgresThrottlerStorage } from './postgres-throttler.storage.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

export const THROTTLER_STORAGE = Symbol('THROTTLER_STORAGE');

/**
 * Where throttling counts live: never in one process, so every instance behind the load balancer
 * sees the same counts — Redis when REDIS_URL is set, PostgreSQL otherwise.
 */
@Module({})
export class ThrottlingStorageModule {
  /** `namespace`: what every instance of one deployment shares (its database). */
  static forRoot(redisUrl: string | undefined, namespace: string): DynamicModule {
    return {
      module: ThrottlingStorageModule,
      providers: [
        redisUrl
          ? {
              provide: THROTTLER_STORAGE,
              useFactory: () => new RedisThrottlerStorage(redisUrl, namespace),
            }
          : {
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
