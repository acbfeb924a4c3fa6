import { type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * What the development-only modules (src/dev) answer ahead of Nest's routes: the path prefixes,
 * and one handler of Node's request for all of them (an Express app of their routers, built by
 * DevModule, so that production never loads Express). Absent in production, where those modules
 * are never imported.
 */
export const DEV_MOUNTS = Symbol('DEV_MOUNTS');

export interface DevMounts {
  readonly paths: readonly string[];
  handle(req: IncomingMessage, res: ServerResponse): void;
}
