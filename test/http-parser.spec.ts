import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Server } from 'node:http';
import { type Socket } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * Node's HTTP server hands a new connection to its parser, which reads the socket natively; a
 * 'data' or 'readable' listener anyone adds to that socket takes it back, and every request's
 * bytes then pass through JavaScript streams (4 to 10% of a no-op request's CPU here,
 * «2026-12-05, 17:00» in docs/performance.md). Node marks the fast path on the socket's parser.
 */
type Parsed = Socket & { parser?: { _consumed?: boolean } | null };

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({}, { listen: true });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await t?.close();
});

describe('HTTP connections', () => {
  it("leave Node's parser reading every socket itself, through a request and the next one", async () => {
    const sockets: Parsed[] = [];
    // Registered after the service's own connection listeners, so it sees what they left.
    const server = t.http as Server;
    const seen = (socket: Socket) => sockets.push(socket);
    server.on('connection', seen);
    try {
      for (const path of ['/health/live', '/login', '/api/v1/password-policy'])
        expect((await fetch(`${t.url}${path}`)).status).toBe(200);
    } finally {
      server.off('connection', seen);
    }
    expect(sockets.length).toBeGreaterThan(0);
    for (const socket of sockets) {
      expect(socket.parser?._consumed).toBe(true);
    }
  });
});
