import { describe, expect, it } from '@jest/globals';
import { type EntityManager, RequestContext } from '@mikro-orm/postgresql';
import { requestContext } from './request-context.js';

/** A root EntityManager that counts its forks; a fork asks for the context's EM as a real one does. */
function fakeRoot() {
  const forks: { id: number; seenWhileForking: unknown }[] = [];
  const root = {
    name: 'default',
    fork(options: { useContext?: boolean }) {
      expect(options.useContext).toBe(true);
      const fork = { id: forks.length + 1, seenWhileForking: RequestContext.getEntityManager() };
      forks.push(fork);
      return fork;
    },
  };
  return { root: root as unknown as EntityManager, forks };
}

function inRequest<T>(middleware: ReturnType<typeof requestContext>, work: () => T): T {
  let result!: T;
  middleware({}, {}, () => (result = work()));
  return result;
}

describe('the request context, forked on first use', () => {
  it('forks nothing for a request that never touches the ORM, yet runs it in a context', () => {
    const { root, forks } = fakeRoot();
    const inContext = inRequest(requestContext(root), () =>
      Boolean(RequestContext.currentRequestContext()),
    );
    expect(inContext).toBe(true);
    expect(forks).toHaveLength(0);
  });

  it('gives a request one fork of its own however often it asks, and another request another', () => {
    const { root, forks } = fakeRoot();
    const middleware = requestContext(root);
    const first = inRequest(middleware, () => [
      RequestContext.getEntityManager(),
      RequestContext.getEntityManager(),
    ]);
    const second = inRequest(middleware, () => RequestContext.getEntityManager());
    expect(first[0]).toBe(first[1]);
    expect(second).not.toBe(first[0]);
    expect(forks).toHaveLength(2);
    // While a fork is made there is no request EM yet, as when RequestContext.create forks.
    expect(forks.map((fork) => fork.seenWhileForking)).toEqual([undefined, undefined]);
    expect(RequestContext.getEntityManager()).toBeUndefined();
  });
});
