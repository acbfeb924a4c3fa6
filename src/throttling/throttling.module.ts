import { MikroORM } from '@mikro-orm/postgresql';
import { type DynamicModule, Module } from '@nestjs/common';
import { RedisHealth } from '../common/redis-health.js';
import { LoginFailures, THROTTLER_STORAGE } from './credential-throttle.js';
import { PostgresThrottlerStorage } from './postgres-throttler.storage.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { ANONYMOUS, SIGNED_IN } from './signed-in.js';

export { THROTTLER_STORAGE } from './credential-throttle.js';

/**
 * Where throttling counts live: never in one process, so every instance behind the load balancer
 * sees the same counts — Redis when REDIS_URL is set, PostgreSQL otherwise. (While Redis fails,
 * each instance counts alone: RedisThrottlerStorage.)
 *
 * Call it once, in the application module: each call makes a store of its own, with a Redis
 * connection of its own. The module is global because the login (SessionsModule, under several
 * feature modules) counts its failures in that same store (`LoginFailures`), and only the
 * application module knows the store's configuration.
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
          LoginFailures,
        ],
        exports: [THROTTLER_STORAGE, RedisHealth, LoginFailures],
        global: true,
      };
    return {
      module: ThrottlingStorageModule,
      providers: [
        {
          provide: THROTTLER_STORAGE,
          // The general limit is batched per instance; the credentials limit stays exact.
          useFactory: (orm: MikroORM) => new PostgresThrottlerStorage(orm, [ANONYMOUS, SIGNED_IN]),
          inject: [MikroORM],
        },
        LoginFailures,
      ],
      exports: [THROTTLER_STORAGE, LoginFailures],
      global: true,
    };
  }
}
