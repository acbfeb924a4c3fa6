import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  activeLogCapture,
  captureChildOutput,
  recordEnvironmentSecrets,
  recordSecret,
} from './log-capture.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  /** What the command printed for the operator (one JSON object with --json). */
  out: string;
  /** Its errors and usage, its log lines left out. */
  err: string;
  /** Its JSON log lines (stderr), which the file's log check searches with the rest. */
  logs: string;
}

/** A pino line of the service's logger, not the command's own output. */
const isLogLine = (line: string) => {
  if (!line.startsWith('{')) return false;
  try {
    return (JSON.parse(line) as { service?: unknown }).service === 'identity-link';
  } catch {
    return false;
  }
};

/**
 * The one line that shows a generated password or a client secret to the operator, on purpose
 * (or its JSON).
 */
const SHOWN_ONCE =
  /^(?:password \(shown once\)|client_secret): (\S+)$|^\{.*"(?:password|clientSecret)":"([^"]+)"/;

/**
 * The built command line (`npm run cli -- …`) with the given environment and `stdin` as the
 * operator's input. A spec file with a log check (test/support/log-check.ts) has it log at `trace`
 * and searches its output; a password given on stdin or shown once is known to the check.
 */
export function runCliWith(env: NodeJS.ProcessEnv, args: string[], stdin = ''): Promise<CliResult> {
  const capture = activeLogCapture();
  const fullEnv = { ...env, LOG_LEVEL: capture ? 'trace' : 'silent' };
  recordEnvironmentSecrets(fullEnv);
  if (args.includes('--password-stdin')) recordSecret('--password-stdin', stdin.split('\n')[0]);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], {
      cwd: ROOT,
      env: fullEnv,
    });
    captureChildOutput(child, `dist/cli.js ${args[0] ?? ''}`.trim(), (line) => {
      const match = SHOWN_ONCE.exec(line);
      const secret = match?.[1] ?? match?.[2];
      return secret ? [{ what: 'secret shown once by the command line', secret }] : [];
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      const lines = stderr.split(/(?<=\n)/);
      resolve({
        code,
        out: stdout,
        err: lines.filter((line) => !isLogLine(line)).join(''),
        logs: lines.filter(isLogLine).join(''),
      });
    });
    child.stdin.end(stdin);
  });
}

/**
 * `npm run cli -- …` as the operator runs it: the built command line (`npm test` builds first)
 * against the given database, with `stdin` as the operator's input.
 */
export function runCli(databaseUrl: string, args: string[], stdin = ''): Promise<CliResult> {
  return runCliWith(
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      SMTP_URL: 'smtp://127.0.0.1:9',
    },
    args,
    stdin,
  );
}
