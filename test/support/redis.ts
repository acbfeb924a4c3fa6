import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { waitUntil } from './wait.js';

const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
  url: string;
  child: ChildProcess;
  /** Resolves once the process has exited (after SIGKILL, say). */
  exited: Promise<void>;
  /** Kills it for good (SIGKILL also ends a SIGSTOPped process); safe to call twice. */
  stop(): Promise<void>;
}

/** Whether something on `port` answers a Redis PING, within a second. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/**
 * A redis-server of the spec's own (Debian's, from the `redis-server` package) on `port`, in
 * memory only: a spec may kill, stall and restart it without touching the Redis other specs use.
 */
export async function startRedisServer(port: number): Promise<RedisServer> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: tmpdir(), stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitUntil(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return answersPing(port);
    }, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, child, exited, stop };
}
