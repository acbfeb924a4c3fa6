import { type Router } from 'express';

/**
 * Express routers that development-only modules (src/dev) ask to have mounted before Nest's
 * routes. Absent in production, where those modules are never imported.
 */
export const DEV_MOUNTS = Symbol('DEV_MOUNTS');

export interface DevMount {
  path: string;
  router: Router;
}
