import { AsyncLocalStorage } from 'node:async_hooks';
import { Socket } from 'node:net';

/** Runs a function in the async context this module was loaded in: no request's. */
const outsideAnyRequest = AsyncLocalStorage.snapshot();

/**
 * The socket of a pool connection, connected outside whichever request happened to need it.
 *
 * Node.js binds a socket's handle to the async context it is connected in (the AsyncContextFrame
 * holding every AsyncLocalStorage's store), and runs the socket's callbacks in it. The pool opens
 * connections when a request asks for one, so a connection kept that request's logging context
 * and its ORM request context (with whatever its unit of work held) for as long as it lived, and
 * what it emitted later (a dropped connection's error, logged by the ORM) ran as if inside that
 * long-finished request. In a heap snapshot under load, 27 finished requests' contexts were
 * held: 10 by the pool's sockets (none since), 17 by kept-alive client connections' idle timers,
 * each the last request on its connection, replaced by the next. Each query's own callbacks still
 * run in its caller's context: they are promise reactions, bound where they are awaited.
 */
export class DetachedSocket extends Socket {
  override connect(...args: unknown[]): this {
    const connect = super.connect.bind(this) as (...args: unknown[]) => this;
    return outsideAnyRequest(() => connect(...args));
  }
}
