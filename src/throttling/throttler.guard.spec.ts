import { describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import '@nestjs/common';
import { type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  type ThrottlerGuard as StockGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';

// @nestjs/throttler (CommonJS) require()s the ESM @nestjs/common: Jest refuses that while
// @nestjs/common is still being linked in the same graph, so it is loaded first and the
// throttler after it (as src/rendering/http-exception.filter.spec.ts does).
const { SkipThrottle, Throttle, ThrottlerGuard } = await import('@nestjs/throttler');
const { AppThrottlerGuard } = await import('./throttler.guard.js');
const { RequestAccount } = await import('./signed-in.js');

@Throttle({ limited: { limit: 7, ttl: 9000 } })
class Routes {
  plain(): void {}
  @Throttle({ limited: { limit: 2, ttl: 1000, blockDuration: 5000 } })
  strict(): void {}
  @SkipThrottle({ limited: true })
  skipped(): void {}
  @Throttle({
    limited: { limit: () => 3, ttl: () => Promise.resolve('4000' as unknown as number) },
  })
  computed(): void {}
  @Throttle({ limited: { limit: 'many' as unknown as number, ttl: 1000 } })
  broken(): void {}
}

type Increment = Parameters<ThrottlerStorage['increment']>;

/** Every increment either guard asks of its storage, for the same requests. */
async function increments(
  make: (options: ThrottlerModuleOptions, storage: ThrottlerStorage) => StockGuard,
  handlers: (keyof Routes)[],
): Promise<(Increment | string)[]> {
  const seen: (Increment | string)[] = [];
  const storage: ThrottlerStorage = {
    increment: (...args: Increment) => {
      seen.push(args);
      return Promise.resolve({
        totalHits: 1,
        timeToExpire: 1,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
    },
  };
  const options: ThrottlerModuleOptions = {
    throttlers: [
      { name: 'limited', limit: 100, ttl: 60_000 },
      {
        name: 'other',
        limit: 50,
        ttl: 30_000,
        skipIf: (context) => context.getHandler().name === 'strict',
      },
    ],
  };
  const guard = make(options, storage);
  await guard.onModuleInit();
  for (const name of handlers) {
    // The handler as Nest hands it over: the function itself, never called here.
    const handler: unknown = Object.getOwnPropertyDescriptor(Routes.prototype, name)?.value;
    const context = {
      getHandler: () => handler,
      getClass: () => Routes,
      switchToHttp: () => ({
        getRequest: () => ({ ip: '192.0.2.1', headers: {} }),
        // The stock guard sets its headers with Express's res.header(), ours with
        // node's setHeader: both are there, so neither guard fails on the response.
        getResponse: () => ({ header: () => undefined, setHeader: () => undefined }),
      }),
    } as unknown as ExecutionContext;
    try {
      await guard.canActivate(context);
    } catch (error) {
      seen.push(error instanceof Error ? error.message : String(error));
    }
  }
  return seen;
}

/** Counts every throttler against the address, as the stock guard would for these names. */
class NoAccount extends RequestAccount {
  of(): Promise<string | null> {
    return Promise.resolve(null);
  }
}

describe('AppThrottlerGuard.canActivate', () => {
  it('reads the same route limits, windows, blocks and skips as the stock guard, also when asked again', async () => {
    const handlers: (keyof Routes)[] = ['plain', 'strict', 'skipped', 'computed', 'broken'];
    const twice = [...handlers, ...handlers];
    const reflector = new Reflector();
    const stock = await increments(
      (options, storage) => new ThrottlerGuard(options, storage, reflector),
      twice,
    );
    const ours = await increments(
      (options, storage) => new AppThrottlerGuard(options, storage, reflector, new NoAccount()),
      twice,
    );
    expect(ours).toEqual(stock);
    // The cases are what they claim to be (the throttlers run shortest window first): route
    // values, a skipIf, a skip, resolved functions, a refused value.
    const other = [expect.any(String), 30_000, 50, 30_000, 'other'];
    expect(stock.slice(0, 8)).toEqual([
      other,
      [expect.any(String), 9000, 7, 9000, 'limited'],
      [expect.any(String), 1000, 2, 5000, 'limited'],
      other,
      other,
      [expect.any(String), 4000, 3, 4000, 'limited'],
      other,
      expect.stringMatching(/Invalid "limit" for the "limited" throttler/),
    ]);
  });
});
