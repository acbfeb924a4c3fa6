import { describe, expect, it, jest } from '@jest/globals';
import 'reflect-metadata';
import '@nestjs/common';
import { type ArgumentsHost, Logger } from '@nestjs/common';

// The filter imports @nestjs/throttler (CommonJS), which require()s the ESM @nestjs/common: Jest
// refuses that while @nestjs/common is still being linked in the same graph, so it is loaded
// first and the filter after it (as test/support/setup-file.ts does for the integration specs).
const { HttpExceptionFilter } = await import('./http-exception.filter.js');

/** What the filter answers for `exception` on a JSON API route. */
function answer(exception: unknown) {
  const headers: Record<string, string> = {};
  const sent: { status?: number; body?: unknown } = {};
  const response = {
    headersSent: false,
    getHeaders: () => headers,
    header(name: string, value: string) {
      headers[name] = value;
      return this;
    },
    status(status: number) {
      sent.status = status;
      return this;
    },
    type(contentType: string) {
      headers['Content-Type'] = contentType;
      return this;
    },
    send(body: string) {
      sent.body = JSON.parse(body) as unknown;
    },
  };
  const request = { id: 'req-1', url: '/api/v1/me', headers: { accept: 'application/json' } };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  return { ...sent, headers };
}

describe('HttpExceptionFilter and an unavailable Redis', () => {
  it.each([
    ['a lost connection', new Error('Connection is closed.')],
    ['the command timeout', new Error('Command timed out')],
    [
      'no offline queue',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    ],
    [
      'spent retries',
      Object.assign(new Error('Reached the max retries per request limit (which is 1).'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
  ])('answers %s with 503 throttle_unavailable and Retry-After, not 500', (_, error) => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    expect(answer(error)).toEqual({
      status: 503,
      body: {
        statusCode: 503,
        code: 'throttle_unavailable',
        message: 'Сервис временно недоступен. Повторите попытку через несколько секунд.',
      },
      headers: { 'Retry-After': '5', 'Content-Type': 'application/json; charset=utf-8' },
    });
    // A warning with the reason, as for the database; not an error with a stack.
    expect(warn).toHaveBeenCalledWith(
      { requestId: 'req-1', reason: error.message },
      'throttling store unavailable',
    );
    warn.mockRestore();
  });
});
