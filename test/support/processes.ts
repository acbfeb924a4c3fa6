import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Running, not a zombie: a process that exited stays in /proc until its parent reaps it. */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pid in the postmaster.pid of the embedded cluster under `dataDir`, if the file is there. */
export function postmasterOf(dataDir: string): number | null {
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  return existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : null;
}

export interface LogEntry {
  level?: number;
  time?: string;
  msg?: string;
  context?: string;
  component?: string;
  postmaster?: number;
}

/** The JSON lines of a service's output (pino), skipping anything else it printed. */
export function logEntries(logs: string): LogEntry[] {
  return logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogEntry);
}
