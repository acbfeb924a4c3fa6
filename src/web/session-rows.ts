import { type SessionResponse } from '../sessions/dto/session.response.js';
import { METHOD_NAMES } from '../sessions/sessions.texts.js';
import { describeUserAgent } from '../sessions/user-agent.js';

/** A moment as the pages show it: Moscow time, short date and time. */
export function moscowTime(iso: string): string {
  return new Date(iso).toLocaleString('ru-RU', {
    timeZone: 'Europe/Moscow',
    dateStyle: 'short',
    timeStyle: 'short',
  });
}

export interface SessionRow extends SessionResponse {
  device: string;
  methodName: string;
}

/** A live session as a page lists it: the device in words, the way of login, Moscow times. */
export function sessionRow(session: SessionResponse): SessionRow {
  return {
    ...session,
    device: describeUserAgent(session.userAgent),
    methodName: METHOD_NAMES[session.method],
    createdAt: moscowTime(session.createdAt),
    lastSeenAt: moscowTime(session.lastSeenAt),
  };
}
