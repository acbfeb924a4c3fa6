import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  type Resolvable,
  type ThrottlerGenerateKeyFunction,
  type ThrottlerGetTrackerFunction,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import {
  THROTTLER_BLOCK_DURATION,
  THROTTLER_KEY_GENERATOR,
  THROTTLER_LIMIT,
  THROTTLER_SKIP,
  THROTTLER_TRACKER,
  THROTTLER_TTL,
} from '@nestjs/throttler/dist/throttler.constants.js';
import { isIP } from 'node:net';
import { BoundedMap } from '../common/bounded-map.js';
import { type HttpResponse, nodeResponse } from '../common/http.js';
import { trackerOf } from './credential-throttle.js';
import { ANONYMOUS, RequestAccount, SIGNED_IN } from './signed-in.js';

const REMEMBERED = 10_000;

/** One throttler's decorators on a route (@SkipThrottle, @Throttle and the like), handler first. */
interface RouteThrottle {
  skip: boolean | undefined;
  limit: Resolvable<number> | undefined;
  ttl: Resolvable<number> | undefined;
  blockDuration: Resolvable<number> | undefined;
  getTracker: ThrottlerGetTrackerFunction | undefined;
  generateKey: ThrottlerGenerateKeyFunction | undefined;
}

/**
 * A resolvable option's value for this request: a number as it is, a function's result awaited
 * (most options are plain numbers, and an `await` of each was a visible part of the guard's cost).
 */
function resolved(
  context: ExecutionContext,
  value: Resolvable<number>,
  option: string,
  throttler: string | undefined,
): number | Promise<number> {
  if (typeof value === 'number') return value;
  return typeof value === 'function'
    ? Promise.resolve(value(context)).then((raw) => asNumber(raw, option, throttler))
    : asNumber(value, option, throttler);
}

/** A signed-in caller's key: the tracker itself (its account's id), not a hash of the route. */
const trackerIsKey: ThrottlerGenerateKeyFunction = (_context, tracker) => tracker;

/** The stock guard's check: a number, or a string that reads as one. */
function asNumber(raw: unknown, option: string, throttler: string | undefined): number {
  const number = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof number !== 'number' || Number.isNaN(number))
    throw new Error(
      `Invalid "${option}" for the "${throttler}" throttler: expected a number, got ${JSON.stringify(raw)}.`,
    );
  return number;
}

/**
 * The stock guard, with the general limit split by who is calling: a request that proves a live
 * session counts against its account (SIGNED_IN, every route together), any other against its
 * address (ANONYMOUS, per route). A whole school shares one NATed address, not one account; and a
 * made-up cookie proves nothing, so it counts against the address like no cookie at all.
 *
 * It also remembers what it derives from the same inputs on every request: the normalised address
 * (an IPv6 parse) and the hashed counter key. Together they were most of the guard's cost in a
 * profile of an authenticated request; the counting itself is unchanged.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  private readonly trackers = new BoundedMap<string, string>(REMEMBERED);
  private readonly keys = new BoundedMap<string, string>(REMEMBERED);
  private readonly routes = new WeakMap<object, WeakMap<object, RouteThrottle[]>>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly accounts: RequestAccount,
  ) {
    super(options, storage, reflector);
  }

  /**
   * The limit headers through node's own setHeader: the stock guard sets them with the
   * framework's `res.header()` (Express's checks each for a Content-Type charset and maps arrays
   * first); three headers on every counted request made it a visible part of an authenticated
   * request's CPU.
   */
  protected override setResponseHeader(
    res: Record<string, unknown>,
    name: string,
    value: string | number,
  ): void {
    nodeResponse(res as unknown as HttpResponse).setHeader(name, String(value));
  }

  /**
   * The stock `canActivate`, step for step, but for four things:
   * - a route's throttler decorators are read once per handler: they are fixed when the classes
   *   are defined, and reading them through the Reflector (six keys per throttler, on handler and
   *   class) on every request cost more than the rest of the guard;
   * - a limit, window or block given as a number is taken as it is, without an `await`;
   * - of ANONYMOUS and SIGNED_IN, only the one that applies to the caller is resolved and counted
   *   (the caller is looked up once, before either);
   * - `shouldSkip`, which the stock guard awaits on every request and which returns false, is not
   *   called: this guard is skipped by the decorators and `skipIf` only.
   * The limits, windows and `skipIf` are still resolved per request.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const routes = this.routeThrottles(context);
    let account: string | null | undefined;
    let passed = true;
    for (let index = 0; index < this.throttlers.length; index++) {
      const throttler = this.throttlers[index];
      const route = routes[index];
      const skipIf = throttler.skipIf || this.commonOptions.skipIf;
      if (route.skip || skipIf?.(context)) continue;
      const { name } = throttler;
      if (name === ANONYMOUS || name === SIGNED_IN) {
        // The session lookup the auth guard would make next, made once for both (RequestAccount).
        if (account === undefined) account = await this.accounts.of(context);
        if ((name === SIGNED_IN) !== (account !== null)) continue;
      }
      let limit = resolved(context, route.limit ?? throttler.limit, 'limit', name);
      if (typeof limit !== 'number') limit = await limit;
      let ttl = resolved(context, route.ttl ?? throttler.ttl, 'ttl', name);
      if (typeof ttl !== 'number') ttl = await ttl;
      let blockDuration = resolved(
        context,
        route.blockDuration ?? throttler.blockDuration ?? ttl,
        'blockDuration',
        name,
      );
      if (typeof blockDuration !== 'number') blockDuration = await blockDuration;
      // A signed-in caller counts against the account: its id is both the tracker and the key.
      const signedIn = name === SIGNED_IN;
      const counted = await this.handleRequest({
        context,
        limit,
        ttl,
        throttler,
        blockDuration,
        getTracker: signedIn
          ? () => account as string
          : route.getTracker || throttler.getTracker || this.commonOptions.getTracker!,
        generateKey: signedIn
          ? trackerIsKey
          : route.generateKey || throttler.generateKey || this.commonOptions.generateKey!,
      });
      passed = counted && passed;
    }
    return passed;
  }

  private routeThrottles(context: ExecutionContext): RouteThrottle[] {
    const handler = context.getHandler();
    const type = context.getClass();
    let byHandler = this.routes.get(type);
    if (!byHandler) this.routes.set(type, (byHandler = new WeakMap()));
    let routes = byHandler.get(handler);
    if (!routes) {
      const read = <T>(key: string, name: string | undefined): T | undefined =>
        this.reflector.getAllAndOverride<T | undefined>(key + name, [handler, type]);
      routes = this.throttlers.map(({ name }) => ({
        skip: read<boolean>(THROTTLER_SKIP, name),
        limit: read<Resolvable<number>>(THROTTLER_LIMIT, name),
        ttl: read<Resolvable<number>>(THROTTLER_TTL, name),
        blockDuration: read<Resolvable<number>>(THROTTLER_BLOCK_DURATION, name),
        getTracker: read<ThrottlerGetTrackerFunction>(THROTTLER_TRACKER, name),
        generateKey: read<ThrottlerGenerateKeyFunction>(THROTTLER_KEY_GENERATOR, name),
      }));
      byHandler.set(handler, routes);
    }
    return routes;
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    // Only real addresses are remembered: with a too-trusting proxy setting, req.ip is whatever
    // the client wrote in X-Forwarded-For, and long junk must not fill the table.
    const ip = typeof req.ip === 'string' && isIP(req.ip) !== 0 ? req.ip : undefined;
    if (ip === undefined) return super.getTracker(req);
    let tracker = this.trackers.get(ip);
    if (tracker === undefined) {
      // The stock normalisation, through the one function the login's failure counting uses too.
      tracker = trackerOf(ip);
      this.trackers.set(ip, tracker);
    }
    return tracker;
  }

  protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
    if (isIP(suffix) === 0) return super.generateKey(context, suffix, name);
    const id = `${context.getClass().name}-${context.getHandler().name}-${name}-${suffix}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = super.generateKey(context, suffix, name);
      this.keys.set(id, key);
    }
    return key;
  }
}
