import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { isIP } from 'node:net';
import { BoundedMap } from '../common/bounded-map.js';
import { trackerOf } from './credential-throttle.js';
import { ANONYMOUS, RequestAccount, SIGNED_IN } from './signed-in.js';

const REMEMBERED = 10_000;

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

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly accounts: RequestAccount,
  ) {
    super(options, storage, reflector);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const { name } = request.throttler;
    if (name !== ANONYMOUS && name !== SIGNED_IN) return super.handleRequest(request);
    // The session lookup the auth guard would make next, made once for both (RequestAccount).
    const account = await this.accounts.of(request.context);
    if (name === ANONYMOUS) return account === null ? super.handleRequest(request) : true;
    if (account === null) return true;
    return super.handleRequest({
      ...request,
      getTracker: () => Promise.resolve(account),
      generateKey: (_context, tracker) => tracker,
    });
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
