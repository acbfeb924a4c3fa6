import { type Request, type Response } from 'express';
import { cookiesOf } from '../common/http.js';
import { randomBytes } from 'node:crypto';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';

const SESSION_TTL_MS = 60 * 60_000;
const SESSION_COOKIE = 'esia_stand_in_session';

/** The stand-in's own single sign-on: who is logged in to «ЕСИА» in which browser. */
export class StandInSessions {
  private readonly sessions = new Map<
    string,
    { oid: number; authTime: number; expiresAt: number }
  >();

  private id(req: Request): string | null {
    return cookiesOf(req)[SESSION_COOKIE] ?? null;
  }

  current(req: Request): { oid: number; authTime: number } | null {
    const id = this.id(req);
    const session = id ? this.sessions.get(id) : undefined;
    return session && session.expiresAt > Date.now() ? session : null;
  }

  /** Logs `oid` in to the stand-in in this browser; returns the login time (seconds). */
  start(res: Response, oid: number): number {
    const session = randomBytes(24).toString('base64url');
    const authTime = Math.floor(Date.now() / 1000);
    this.sessions.set(session, { oid, authTime, expiresAt: Date.now() + SESSION_TTL_MS });
    res.cookie(SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: 'lax',
      path: DEV_STAND_IN.esiaPath,
    });
    return authTime;
  }

  end(req: Request, res: Response): void {
    const id = this.id(req);
    if (id) this.sessions.delete(id);
    res.clearCookie(SESSION_COOKIE, { path: DEV_STAND_IN.esiaPath });
  }

  /** Makes every open session look as if the person logged in `seconds` earlier. */
  age(seconds: number): void {
    for (const session of this.sessions.values()) session.authTime -= seconds;
  }
}
