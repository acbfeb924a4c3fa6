import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { isIP } from 'node:net';
import { BoundedMap } from '../common/bounded-map.js';
import { trackerOf } from './credential-throttle.js';

const REMEMBERED = 10_000;

/**
 * The stock guard, remembering what it derives from the same inputs on every request: the
 * normalised address (an IPv6 parse) and the hashed counter key. Together they were most of the
 * guard's cost in a profile of an authenticated request; the counting itself is unchanged.
 */
@Injectable()
export class AppThrottlerGuard extends ThrottlerGuard {
  private readonly trackers = new BoundedMap<string, string>(REMEMBERED);
  private readonly keys = new BoundedMap<string, string>(REMEMBERED);

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
