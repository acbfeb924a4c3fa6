/**
 * The `cli` scenario of `npm run bench`: the wall time of the operator's command line, spawn to
 * exit, against the bench's running database (migrated; the service runs beside it), as an
 * operator runs it: `node dist/cli.js org:tree` with the production environment. Also `--help`,
 * which loads no service and touches no database. Target: a command under 2 s. The CPU time of
 * each run is reported beside the wall time: on a shared machine the wall time also holds the
 * wait for a core.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const ROOT = new URL('..', import.meta.url).pathname;
const RUNS = 10;

/**
 * CPU milliseconds (user + system) of this process's children that have exited: cutime and cstime
 * of /proc/self/stat (USER_HZ = 100). Across one command it is that command's CPU, the wall time
 * without the waiting a loaded machine adds.
 */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Wall and CPU milliseconds from spawn to exit; the command must succeed. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number }> {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuMs();
    const started = performance.now();
    const child = spawn(process.execPath, ['dist/cli.js', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve({ wall: performance.now() - started, cpu: childrenCpuMs() - cpuBefore })
        : reject(new Error(`cli ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

const median = (values: number[]) =>
  Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);

async function series(args: string[], env: NodeJS.ProcessEnv) {
  await timed(args, env);
  const runs: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timed(args, env));
  const walls = runs.map((run) => run.wall);
  return {
    median: median(walls),
    min: Math.round(Math.min(...walls)),
    max: Math.round(Math.max(...walls)),
    cpu: median(runs.map((run) => run.cpu)),
  };
}

/** One row of the bench's table (bench/run.ts `Row`). */
export async function cliWallTime(env: NodeJS.ProcessEnv) {
  const load = loadavg()[0].toFixed(1);
  const tree = await series(['org:tree'], env);
  const help = await series(['--help'], env);
  return {
    scenario: 'cli',
    ratio: null,
    target: '< 2 s',
    figure: `org:tree median ${tree.median} ms (min ${tree.min}, max ${tree.max}) over ${RUNS} runs, CPU ${tree.cpu} ms`,
    extra: `--help median ${help.median} ms, CPU ${help.cpu} ms; load average ${load} at the start`,
  };
}
