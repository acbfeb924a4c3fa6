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
const { SkipThrottle, Throttle, ThrottlerException, ThrottlerGuard } =
  await import('@nestjs/throttler');
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

/** A caller whose session is live: the account's id, or null for none. */
class FixedAccount extends RequestAccount {
  constructor(private readonly account: string | null) {
    super();
  }
  of(): Promise<string | null> {
    return Promise.resolve(this.account);
  }
}

describe('AppThrottlerGuard, the general limit split by caller', () => {
  /** One request to `Routes.plain` under the two general throttlers; what was counted and sent. */
  async function request(
    account: string | null,
    { blocked = false, userAgent = 'Mozilla/5.0' }: { blocked?: boolean; userAgent?: string } = {},
  ) {
    const counted: Increment[] = [];
    const headers: Record<string, string> = {};
    const storage: ThrottlerStorage = {
      increment: (...args: Increment) => {
        counted.push(args);
        return Promise.resolve({
          totalHits: blocked ? 61 : 3,
          timeToExpire: 42,
          isBlocked: blocked,
          timeToBlockExpire: blocked ? 17 : 0,
        });
      },
    };
    const guard = new AppThrottlerGuard(
      {
        throttlers: [
          { name: 'default', limit: 100, ttl: 60_000 },
          { name: 'signed-in', limit: 60, ttl: 60_000 },
        ],
        ignoreUserAgents: [/^monitor\//],
      },
      storage,
      new Reflector(),
      new FixedAccount(account),
    );
    await guard.onModuleInit();
    const handler: unknown = Object.getOwnPropertyDescriptor(Routes.prototype, 'plain')?.value;
    const context = {
      getHandler: () => handler,
      getClass: () => Routes,
      switchToHttp: () => ({
        getRequest: () => ({ ip: '192.0.2.1', headers: { 'user-agent': userAgent } }),
        getResponse: () => ({
          setHeader: (name: string, value: string) => (headers[name] = value),
        }),
      }),
    } as unknown as ExecutionContext;
    const outcome = await guard.canActivate(context).catch((error: unknown) => error);
    return { outcome, counted, headers };
  }

  it('counts a live session against its account under the signed-in limit only, with its headers', async () => {
    const { outcome, counted, headers } = await request('account-1');
    expect(outcome).toBe(true);
    expect(counted).toEqual([['account-1', 60_000, 60, 60_000, 'signed-in']]);
    expect(headers).toEqual({
      'X-RateLimit-Limit-signed-in': '60',
      'X-RateLimit-Remaining-signed-in': '57',
      'X-RateLimit-Reset-signed-in': '42',
    });
  });

  it('counts a request without a live session against its address under the default limit only', async () => {
    const { outcome, counted, headers } = await request(null);
    expect(outcome).toBe(true);
    expect(counted).toHaveLength(1);
    expect(counted[0].slice(1)).toEqual([60_000, 100, 60_000, 'default']);
    // The address's key, as the stock guard makes it: a hash, never the account or the raw address.
    expect(counted[0][0]).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(headers)).toEqual([
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ]);
  });

  it('refuses an account past its limit with the stock exception and Retry-After-signed-in', async () => {
    const { outcome, headers } = await request('account-1', { blocked: true });
    expect(outcome).toBeInstanceOf(ThrottlerException);
    expect(headers['Retry-After-signed-in']).toBe('17');
  });

  it('counts nothing for a user agent the options ignore, signed in or not', async () => {
    for (const account of ['account-1', null]) {
      const { outcome, counted } = await request(account, { userAgent: 'monitor/1.0' });
      expect(outcome).toBe(true);
      expect(counted).toEqual([]);
    }
  });
});
