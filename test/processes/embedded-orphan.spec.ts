import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser } from '../support/browser.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { type RunningService, startService } from '../support/service.js';
import { logEntries, postmasterOf, processRunning } from '../support/processes.js';
import { waitUntil } from '../support/wait.js';

/**
 * `npm start` with no DATABASE_URL runs an embedded cluster under DATA_DIR and stops it on a
 * graceful stop. Killed with SIGKILL, the service cannot: the postmaster lives on, orphaned. The
 * next start must stop that orphan and run a cluster of its own, which it then stops as usual.
 */
let dataDir: string;
const services: RunningService[] = [];
/** Every postmaster seen in the data folder, so that none outlives the file even on failure. */
const postmasters = new Set<number>();

const pidFile = () => join(dataDir, 'pg', 'postmaster.pid');

/** The pid in the cluster's postmaster.pid, or null when no postmaster claims the folder. */
function postmasterPid(): number | null {
  const pid = postmasterOf(dataDir);
  if (pid !== null) postmasters.add(pid);
  return pid;
}

/** Works in this folder's cluster: its postmaster, not a process that reused a pid seen earlier. */
function postmasterHere(pid: number): boolean {
  try {
    return (
      processRunning(pid) && readlinkSync(`/proc/${pid}/cwd`) === realpathSync(join(dataDir, 'pg'))
    );
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'identity-link-orphan-'));
});

afterAll(async () => {
  // A graceful stop: a service that still runs takes its own cluster down.
  for (const service of services) await service.stop();
  // What is left is an orphan (the fault itself, if the fix is missing): fast shutdown, then kill.
  for (const pid of postmasters) {
    if (!postmasterHere(pid)) continue;
    process.kill(pid, 'SIGINT');
    await waitUntil(() => !processRunning(pid), 30_000).catch(() => {
      if (processRunning(pid)) process.kill(pid, 'SIGKILL');
    });
  }
  await rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
}, 120_000);

describe('the embedded development database after the service is killed', () => {
  const account = { login: uniqueLogin('orphan'), password: STRONG_PASSWORD };
  let orphan: number;
  let orphanPidFile: string;
  let second: RunningService;

  it('a start after SIGKILL stops the orphaned postmaster, starts its own, and the data survives', async () => {
    const first = await startService({ embeddedDatabase: true, dataDir });
    services.push(first);
    expect((await new Browser(first.url).postJson('/api/v1/accounts', account)).status).toBe(201);
    orphan = postmasterPid()!;
    orphanPidFile = readFileSync(pidFile(), 'utf8');
    expect(processRunning(orphan)).toBe(true);

    first.child.kill('SIGKILL');
    await first.stop();
    // Nothing stopped the cluster: its postmaster still runs, owned by no one.
    expect(processRunning(orphan)).toBe(true);
    expect(postmasterPid()).toBe(orphan);

    second = await startService({ embeddedDatabase: true, dataDir });
    services.push(second);
    expect(
      logEntries(second.logs()).filter(
        (entry) => entry.level === 40 && entry.msg?.includes('orphaned embedded PostgreSQL'),
      ),
    ).toEqual([expect.objectContaining({ postmaster: orphan })]);
    expect(processRunning(orphan)).toBe(false);
    const own = postmasterPid();
    expect(own).not.toBeNull();
    expect(own).not.toBe(orphan);
    expect(processRunning(own!)).toBe(true);

    expect((await new Browser(second.url).postJson('/api/v1/auth/login', account)).status).toBe(
      200,
    );
  }, 180_000);

  it('a command run beside the service shares its cluster and leaves it running', async () => {
    const own = postmasterPid()!;
    const created = await second.cli(
      'org:create',
      '--name',
      'Управление у сироты',
      '--kind',
      'authority',
    );
    expect(created).toContain('«Управление у сироты»');
    expect(postmasterPid()).toBe(own);
    expect(processRunning(own)).toBe(true);
    expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);
  }, 60_000);

  it('a graceful stop leaves no PostgreSQL of the data folder running', async () => {
    const own = postmasterPid()!;
    second.child.kill('SIGTERM');
    await second.stop();
    expect(postmasterPid()).toBeNull();
    expect(processRunning(own)).toBe(false);
    expect(processRunning(orphan)).toBe(false);
  }, 60_000);

  it('a command run alone over a stale postmaster.pid starts the cluster for itself and stops it again', async () => {
    // What a postmaster killed outright leaves behind: its pid file, naming a process now gone.
    writeFileSync(pidFile(), orphanPidFile);
    expect(processRunning(orphan)).toBe(false);
    expect(await second.cli('org:tree')).toContain('Управление у сироты');
    expect(postmasterPid()).toBeNull();
    expect([...postmasters].filter(processRunning)).toEqual([]);
  }, 60_000);

  it('a postmaster.pid naming a live process that is not this cluster is dropped, and that process left alone', async () => {
    // After a reboot the old pid may be any process's; this test's own is one that must survive.
    writeFileSync(pidFile(), orphanPidFile.replace(/^\d+/, String(process.pid)));
    expect(await second.cli('org:tree')).toContain('Управление у сироты');
    expect(existsSync(pidFile())).toBe(false);
  }, 60_000);
});
