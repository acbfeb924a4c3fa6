import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { freePort } from '../../src/database/embedded-postgres.js';
import { Browser } from '../support/browser.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { recordAnswer, recordOutgoingRequest } from '../support/log-capture.js';
import { startRedisServer } from '../support/redis.js';
import { type RunningService, startService } from '../support/service.js';
import { type LogEntry, logEntries, postmasterOf, processRunning } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

let service: RunningService;

beforeAll(async () => {
  service = await startService();
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

/** Services a test starts for itself: stopped even when the test fails half way. */
const ownServices: RunningService[] = [];

afterEach(async () => {
  for (const own of ownServices.splice(0)) {
    // A service that failed to go on its own is killed, and so is its embedded cluster, which
    // would otherwise outlive the data folder that stop() removes.
    const postmaster = postmasterOf(own.dataDir);
    if (own.child.exitCode === null && own.child.signalCode === null) own.child.kill('SIGKILL');
    await own.stop();
    if (postmaster !== null && processRunning(postmaster)) {
      process.kill(postmaster, 'SIGINT');
      await waitUntil(() => !processRunning(postmaster), 30_000).catch(() => {
        if (processRunning(postmaster)) process.kill(postmaster, 'SIGKILL');
      });
    }
  }
}, 60_000);

type Answered = {
  status: number;
  sentAt: number;
  answeredAt: number;
  /** The answer's Connection header: `close` once the service is draining. */
  connection?: string;
  /** Sent on a connection an earlier request had used (keep-alive). */
  reused: boolean;
};
type Failed = { error: string; sentAt: number; reused: boolean };
type Outcome = Answered | Failed;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** null after `ms`, for a race with what should come first; holds nothing open when it loses. */
const timeout = (ms: number) =>
  new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref());

/** One login POST; `agent: false` is a connection of its own, an Agent may keep one alive. */
function login(url: string, body: object, agent: Agent | false = false): Promise<Outcome> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
    };
    recordOutgoingRequest(`${url}/api/v1/auth/login`, headers, payload);
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = request(`${url}/api/v1/auth/login`, { method: 'POST', agent, headers }, (res) => {
      recordAnswer([res.headers['set-cookie'] ?? []].flat());
      res.resume();
      res.on('end', () =>
        settle({
          status: res.statusCode ?? 0,
          sentAt,
          answeredAt: Date.now(),
          connection: res.headers.connection,
          reused: req.reusedSocket,
        }),
      );
      // Cut before the whole answer arrived.
      res.on('close', () =>
        settle({ error: 'incomplete answer', sentAt, reused: req.reusedSocket }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      settle({ error: error.code ?? error.message, sentAt, reused: req.reusedSocket }),
    );
    req.end(payload);
  });
}

/** Sessions of one login: each successful login is one row, whichever answer reached the client. */
async function sessionsOf(databaseUrl: string, accountLogin: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ n: number }>(
      'select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.login = $1',
      [accountLogin],
    );
    return result.rows[0].n;
  } finally {
    await client.end();
  }
}

/** When the child exits, with its code: measured here, not when the test gets round to it. */
function exitOf(child: RunningService['child']): Promise<{ code: number | null; at: number }> {
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
}

/**
 * What the service logs from now on, read once the child is closed: its last lines have arrived
 * through the pipe by then.
 */
function logsFromNow(own: RunningService): () => Promise<LogEntry[]> {
  const closed = new Promise((resolve) => own.child.once('close', resolve));
  const logged = own.logs().split('\n').length - 1;
  return async () => {
    await closed;
    return logEntries(own.logs().split('\n').slice(logged).join('\n'));
  };
}

/** Raw connections a test opened: closed after it, whatever became of them. */
const rawConnections: RawConnection[] = [];

afterEach(() => {
  for (const connection of rawConnections.splice(0)) connection.socket.destroy();
});

/** A raw HTTP/1.1 connection, to hold a request half sent and see exactly what comes back. */
class RawConnection {
  readonly socket: Socket;
  received = '';
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect({ host: hostname === 'localhost' ? '127.0.0.1' : hostname, port: +port });
    rawConnections.push(this);
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  async open(): Promise<void> {
    if (!this.socket.connecting) return;
    await new Promise((resolve) => this.socket.once('connect', resolve));
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The status line and headers of the first answer, once it is complete (Content-Length). */
  answer(): { status: number; headers: Record<string, string>; body: string } | null {
    const end = this.received.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const [statusLine, ...lines] = this.received.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const body = this.received.slice(end + 4);
    if (Buffer.byteLength(body, 'latin1') < Number(headers['content-length'] ?? 0)) return null;
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
}

function loginRequestHead(url: string, payload: string): string {
  return (
    `POST /api/v1/auth/login HTTP/1.1\r\nHost: ${new URL(url).host}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n`
  );
}

describe('graceful shutdown', () => {
  it('on SIGTERM stops taking connections, finishes every request it accepted, and exits cleanly', async () => {
    const account = { login: uniqueLogin('drain'), password: STRONG_PASSWORD };
    expect((await new Browser(service.url).postJson('/api/v1/accounts', account)).status).toBe(201);

    const outcomes: Outcome[] = [];
    const sentAfterSignal: Promise<Outcome>[] = [];
    let signalled = false;
    const exited = new Promise<number | null>((resolve) => service.child.once('exit', resolve));
    // A steady load: each request is a password check (argon2id), so many are in flight at once.
    const workers = Array.from({ length: 12 }, async () => {
      for (let i = 0; i < 40; i += 1) {
        const attempt = login(service.url, account);
        if (signalled) sentAfterSignal.push(attempt);
        const outcome = await attempt;
        outcomes.push(outcome);
        if ('error' in outcome && outcome.error === 'ECONNREFUSED') return;
      }
    });
    await delay(1500);
    const before = outcomes.length;
    signalled = true;
    const signalAt = Date.now();
    service.child.kill('SIGTERM');
    await Promise.all(workers);
    expect(await exited).toBe(0);

    expect(before).toBeGreaterThan(0);
    const answered = outcomes.filter((o): o is Answered => 'status' in o);
    const failed = outcomes.filter((o): o is Failed => 'error' in o);
    expect([...new Set(answered.map((o) => o.status))]).toEqual([200]);
    // Requests already on their way when SIGTERM came (sent 50 ms or more before it) were in the
    // service's hands: every one of them is answered.
    expect(failed.filter((o) => o.sentAt <= signalAt - 50)).toEqual([]);
    // The only failures are at the connection: refused once the listener closed, or reset by the
    // kernel while still queued in its backlog, before the service read the request.
    expect(failed.every((o) => o.error === 'ECONNREFUSED' || o.error === 'ECONNRESET')).toBe(true);
    // Every request the service did read was answered: each successful login is one session row,
    // and there are exactly as many as the answers that came back.
    expect(await sessionsOf(service.database.url, account.login)).toBe(answered.length);
    expect(answered.length).toBeGreaterThan(before);
    expect(sentAfterSignal.length).toBeGreaterThan(0);
  }, 120_000);

  it('SIGTERM with kept-alive busy connections exits in time and refuses nothing that was in flight', async () => {
    // A proxy with upstream keep-alive: a few connections, each carrying request after request.
    const drainTimeoutMs = 10_000;
    const own = await startService({
      env: { SHUTDOWN_DRAIN_TIMEOUT: `${drainTimeoutMs / 1000}s` },
    });
    ownServices.push(own);
    const account = { login: uniqueLogin('keepalive'), password: STRONG_PASSWORD };
    expect((await new Browser(own.url).postJson('/api/v1/accounts', account)).status).toBe(201);

    const exit = exitOf(own.child);
    let exitedAt: number | null = null;
    void exit.then(({ at }) => (exitedAt = at));
    let signalAt = Infinity;
    const outcomes: Outcome[] = [];
    // Back to back on three kept-alive connections, and on after SIGTERM, as a client that does
    // not know about the shutdown would; stopped only once the process is gone (or, should it
    // never go, well past the time it is allowed).
    const clients = Array.from({ length: 3 }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (exitedAt === null && Date.now() < signalAt + drainTimeoutMs + 15_000) {
          const outcome = await login(own.url, account, agent);
          outcomes.push(outcome);
          // Refused: the listener is closed; try again a moment later, as a retrying proxy does.
          if ('error' in outcome) await delay(20);
        }
      } finally {
        agent.destroy();
      }
    });
    await delay(2000);
    const before = outcomes.length;
    signalAt = Date.now();
    own.child.kill('SIGTERM');
    await Promise.all(clients);
    const { code, at } = await exit;

    // Nothing hung: in-flight requests end in well under a second, so a clean drain does not
    // wait for its timeout, and the process exits with 0.
    expect(at - signalAt).toBeLessThan(drainTimeoutMs);
    expect(code).toBe(0);

    expect(before).toBeGreaterThan(0);
    const answered = outcomes.filter((o): o is Answered => 'status' in o);
    const failed = outcomes.filter((o): o is Failed => 'error' in o);
    // The connections were kept alive: requests before the signal went on reused connections.
    expect(answered.filter((o) => o.sentAt < signalAt && o.reused).length).toBeGreaterThan(0);
    expect([...new Set(answered.map((o) => o.status))]).toEqual([200]);
    // What was in flight at the signal was answered, after it.
    expect(answered.filter((o) => o.answeredAt > signalAt).length).toBeGreaterThan(0);
    expect(failed.filter((o) => o.sentAt <= signalAt - 50)).toEqual([]);
    // Once the service drains, each answer closes its connection (the client goes elsewhere), so
    // a busy connection cannot keep the process alive; no answer a second after the signal is
    // without `Connection: close`.
    const late = answered.filter((o) => o.answeredAt > signalAt + 1000);
    expect(late.filter((o) => o.connection !== 'close')).toEqual([]);
    // After that the clients find the listener closed: refused at TCP level, which they retry
    // elsewhere. A reset is a request the service never read (the kernel's, or a kept-alive
    // connection closed while idle just as the client reused it).
    expect(
      failed.filter((o) => o.sentAt > signalAt && o.error === 'ECONNREFUSED').length,
    ).toBeGreaterThan(0);
    expect(failed.filter((o) => o.error !== 'ECONNREFUSED' && o.error !== 'ECONNRESET')).toEqual(
      [],
    );
    // And no request the service read went unanswered: one session row per answer.
    expect(await sessionsOf(own.database.url, account.login)).toBe(answered.length);
  }, 120_000);

  it('after SIGTERM a slow request still finishes, and what is still open at the drain timeout is cut so the process exits anyway', async () => {
    const drainTimeoutMs = 3000;
    const own = await startService({
      env: { SHUTDOWN_DRAIN_TIMEOUT: `${drainTimeoutMs / 1000}s` },
    });
    ownServices.push(own);
    const account = { login: uniqueLogin('slow'), password: STRONG_PASSWORD };
    expect((await new Browser(own.url).postJson('/api/v1/accounts', account)).status).toBe(201);
    const payload = JSON.stringify(account);
    recordOutgoingRequest(
      `${own.url}/api/v1/auth/login`,
      {
        'content-type': 'application/json',
      },
      payload,
    );
    const half = Math.floor(payload.length / 2);

    // An idle kept-alive connection: one answer, then nothing.
    const idle = new RawConnection(own.url);
    await idle.open();
    idle.write(`GET /health/live HTTP/1.1\r\nHost: ${new URL(own.url).host}\r\n\r\n`);
    // A login whose body is still arriving when the signal comes, completed a second later.
    const slow = new RawConnection(own.url);
    await slow.open();
    slow.write(loginRequestHead(own.url, payload) + payload.slice(0, half));
    // A login whose body never completes, and a request whose headers never do: they would hold
    // the process forever.
    const stalledBody = new RawConnection(own.url);
    await stalledBody.open();
    stalledBody.write(loginRequestHead(own.url, payload) + payload.slice(0, half));
    const stalledHead = new RawConnection(own.url);
    await stalledHead.open();
    stalledHead.write(`GET /health/live HTTP/1.1\r\nHost: ${new URL(own.url).host}\r\n`);
    await waitUntil(() => idle.answer() !== null, 10_000, 20);
    // Long enough for the service to have read the heads of the requests sent above.
    await delay(500);

    const exit = exitOf(own.child);
    const loggedSince = logsFromNow(own);
    const signalAt = Date.now();
    own.child.kill('SIGTERM');
    await delay(1000);
    expect(slow.closedAt).toBeNull();
    slow.write(payload.slice(half));
    const outcome = await Promise.race([exit, timeout(drainTimeoutMs + 10_000)]);
    expect(outcome).not.toBeNull();
    const { code, at } = outcome!;
    // The child's exit may be seen here before the ends of the connections it cut just before
    // exiting: on a busy machine both arrive in one turn of this event loop, and a socket's
    // 'close' follows its end by a turn. So wait for them (bounded), and for the last log lines.
    await Promise.race([Promise.all([stalledBody.closed, stalledHead.closed]), timeout(2000)]);
    const after = await loggedSince();

    // The idle connection was closed at once, with no second answer.
    expect(idle.closedAt! - signalAt).toBeLessThan(1000);
    // The slow login was answered, and its connection closed after the answer.
    const answer = slow.answer();
    expect(answer?.status).toBe(200);
    expect(answer?.headers.connection).toBe('close');
    recordAnswer([answer?.headers['set-cookie'] ?? []].flat());
    expect(slow.closedAt).not.toBeNull();
    // The stalled ones were held until the drain timeout, then cut without an answer.
    for (const stalled of [stalledBody, stalledHead]) {
      expect(stalled.closedAt).not.toBeNull();
      expect(stalled.closedAt! - signalAt).toBeGreaterThanOrEqual(drainTimeoutMs - 100);
      expect(stalled.received).toBe('');
    }
    // Cut by the service at its drain timeout, not left for the process's end to close.
    expect(after.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining([
        'drain timeout: closing the connections still open',
        'HTTP server drained',
      ]),
    );
    // And the process went right after: the drain timeout plus a few seconds at most, whatever
    // the clients do.
    expect(at - signalAt).toBeGreaterThanOrEqual(drainTimeoutMs - 100);
    expect(at - signalAt).toBeLessThan(drainTimeoutMs + 5000);
    expect(code).toBe(0);
    expect(await sessionsOf(own.database.url, account.login)).toBe(1);
  }, 120_000);
  it('a kept-alive connection whose next request is half sent at SIGTERM is not taken for idle: that request is answered, then the connection closes', async () => {
    const own = await startService();
    ownServices.push(own);
    const host = new URL(own.url).host;
    const idle = new RawConnection(own.url);
    const next = new RawConnection(own.url);
    for (const connection of [idle, next]) {
      await connection.open();
      connection.write(`GET /health/live HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    }
    await waitUntil(() => idle.answer() !== null && next.answer() !== null, 10_000, 20);
    idle.received = next.received = '';
    // Only the bytes tell the service a request is on its way: its head is not complete.
    // Long enough for the service to have read them.
    next.write(`GET /health/live HTTP/1.1\r\nHo`);
    await delay(500);
    const exit = exitOf(own.child);
    const signalAt = Date.now();
    own.child.kill('SIGTERM');
    // The idle connection's end shows the drain has looked at every connection: only then does
    // the rest of the request come, so that it is answered during the drain.
    await Promise.race([idle.closed, timeout(5000)]);
    expect(idle.closedAt).not.toBeNull();
    expect(next.closedAt).toBeNull();
    next.write(`st: ${host}\r\n\r\n`);
    await waitUntil(() => next.answer() !== null, 10_000, 20);
    expect(next.answer()).toMatchObject({ status: 200, headers: { connection: 'close' } });
    expect((await exit).code).toBe(0);
    await Promise.race([next.closed, timeout(2000)]);
    // The connection that waited for nothing was closed at the signal, with nothing more sent.
    expect(idle.closedAt! - signalAt).toBeLessThan(1000);
    expect(idle.received).toBe('');
    expect(next.closedAt).not.toBeNull();
  }, 120_000);

  it('with REDIS_URL, a login in flight across SIGTERM is still counted in Redis: its client closes after the drain', async () => {
    const redis = await startRedisServer(await freePort());
    try {
      const own = await startService({ env: { REDIS_URL: redis.url } });
      ownServices.push(own);
      // The throttler counts the login once its body is in, which is after the signal.
      const { status, code, after } = await loginAcrossSignal(own, 'redis', () =>
        own.child.kill('SIGTERM'),
      );
      expect(status).toBe(200);
      // Counted in Redis, not on the way to the instance's own counters for want of it.
      expect(after.filter((entry) => (entry.level ?? 0) >= 40)).toEqual([]);
      expect(code).toBe(0);
    } finally {
      await redis.stop();
    }
  }, 120_000);
});

/**
 * A login whose body is still arriving when `signal()` is called, completed half a second later;
 * waits (30 s at most) for the process to exit and its last lines to arrive. Returns the login's
 * status, the exit code and what the service logged from just before the signal on.
 */
async function loginAcrossSignal(
  own: RunningService,
  tag: string,
  signal: () => void,
): Promise<{ status: number | undefined; code: number | null; after: LogEntry[] }> {
  const account = { login: uniqueLogin(tag), password: STRONG_PASSWORD };
  expect((await new Browser(own.url).postJson('/api/v1/accounts', account)).status).toBe(201);
  const payload = JSON.stringify(account);
  recordOutgoingRequest(
    `${own.url}/api/v1/auth/login`,
    { 'content-type': 'application/json' },
    payload,
  );
  const slow = new RawConnection(own.url);
  await slow.open();
  slow.write(loginRequestHead(own.url, payload) + payload.slice(0, 5));
  await delay(500);

  const exit = exitOf(own.child);
  const loggedSince = logsFromNow(own);
  signal();
  await delay(500);
  slow.write(payload.slice(5));
  const outcome = await Promise.race([exit, timeout(30_000)]);
  expect(outcome).not.toBeNull();
  const after = await loggedSince();
  recordAnswer([slow.answer()?.headers['set-cookie'] ?? []].flat());
  return {
    status: slow.answer()?.status,
    code: outcome!.code,
    after,
  };
}

describe('graceful shutdown on the embedded development database', () => {
  // Ctrl+C in a terminal signals the whole foreground process group; `kill` or an orchestrator
  // signals the service alone.
  it.each([
    ['Ctrl+C (SIGINT to the process group)', 'SIGINT', true],
    ['SIGTERM to the service alone', 'SIGTERM', false],
  ] as const)(
    '%s stops the app first, then the database: a request in flight is answered, nothing is logged as an error, exit code 0',
    async (_how, signal, group) => {
      const own = await startService({ embeddedDatabase: true, processGroup: group });
      ownServices.push(own);
      const postmaster = postmasterOf(own.dataDir);
      expect(postmaster).not.toBeNull();
      // A login in flight across the signal: it needs the database after the signal came.
      const { status, code, after } = await loginAcrossSignal(own, 'embedded', () => {
        if (group) process.kill(-own.child.pid!, signal);
        else own.child.kill(signal);
      });
      expect(status).toBe(200);
      expect(after.filter((entry) => (entry.level ?? 0) >= 40)).toEqual([]);
      expect(code).toBe(0);
      // The cluster is down, and not before the app: it stopped last.
      expect(processRunning(postmaster!)).toBe(false);
      expect(postmasterOf(own.dataDir)).toBeNull();
      const stopped = after.findIndex((entry) => entry.msg === 'embedded PostgreSQL stopped');
      const drained = after.findIndex((entry) => entry.msg === 'HTTP server drained');
      expect(drained).toBeGreaterThanOrEqual(0);
      expect(stopped).toBeGreaterThan(drained);
    },
    120_000,
  );
});
