import { type EntityManager, RequestContext } from '@mikro-orm/postgresql';

/**
 * The request's EntityManagers as MikroORM's RequestContext holds them (by context name), each
 * forked from the root on first use: `RequestContext.getEntityManager()` is how every injected
 * EntityManager and repository finds the request's fork (the `context` option's default), and it
 * reads this map. The fork is the one `RequestContext.create` makes (`useContext: true`, a new
 * identity map), only made when a handler, guard or filter first touches the ORM.
 */
class ForkOnFirstUse extends Map<string, EntityManager> {
  private forking = false;

  constructor(private readonly root: EntityManager) {
    super();
  }

  override get(name: string): EntityManager | undefined {
    const known = super.get(name);
    if (known !== undefined || name !== this.root.name || this.forking) return known;
    // RequestContext.create forks before the context exists: while the fork is made (its own
    // constructor asks for the context's EntityManager), there is none here either.
    this.forking = true;
    try {
      const fork = this.root.fork({ useContext: true, disableContextResolution: true });
      this.set(name, fork);
      return fork;
    } finally {
      this.forking = false;
    }
  }
}

interface ContextStorage {
  run<T>(store: RequestContext, callback: () => T): T;
}

/**
 * What @mikro-orm/nestjs's request-context middleware does (its `registerRequestContext`), less
 * the fork on requests that never use the ORM: a health check or a cached session check forked
 * an EntityManager (a unit of work, an identity map, its config clone) on each request to drop it
 * unused. Every request still runs inside its own RequestContext, so `allowGlobalContext: false`
 * keeps refusing the global EntityManager, and two requests never share an identity map.
 */
export function requestContext(
  root: EntityManager,
): (req: unknown, res: unknown, next: () => void) => void {
  // The storage RequestContext.create() runs in (declared private; the same store
  // RequestContext.getEntityManager() reads).
  const storage = (RequestContext as unknown as { storage: ContextStorage }).storage;
  return (_req, _res, next) => {
    storage.run(new RequestContext(new ForkOnFirstUse(root)), next);
  };
}
