import { type IncomingMessage, type ServerResponse } from 'node:http';

/** A middleware as helmet's are: Node's request and response. */
type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** What middlewares do to a response's headers, in order: set a name to a value, or remove it. */
export type HeaderSteps = readonly (readonly [name: string, value: string | null])[];

/**
 * The header steps of `middlewares` run one after the other, read once by running them against a
 * response that only records them. Helmet's headers are the same on every answer (our CSP
 * directives are strings, not functions of the request), so they are computed at start and not
 * on each request (helmet's dozen middlewares cost a request more than its handler did), while
 * helmet stays the one place that knows which headers to send and how to spell them. A middleware
 * that reads the request, calls anything else on the response, or does not call `next` at once
 * is refused at start: its headers would not be static.
 */
export function recordHeaders(...middlewares: Middleware[]): HeaderSteps {
  const steps: [string, string | null][] = [];
  const response = {
    setHeader(name: string, value: unknown) {
      if (typeof value !== 'string') throw new Error(`header ${name}: not a string`);
      steps.push([name, value]);
      return response;
    },
    removeHeader(name: string) {
      steps.push([name, null]);
    },
  };
  const request = new Proxy(
    {},
    {
      get(_, key) {
        throw new Error(`a security header middleware read the request (${String(key)})`);
      },
    },
  );
  for (const middleware of middlewares) {
    let called = false;
    middleware(
      request as IncomingMessage,
      response as unknown as ServerResponse,
      (error?: unknown) => {
        if (error instanceof Error) throw error;
        if (error) throw new Error('a security header middleware failed');
        called = true;
      },
    );
    if (!called) throw new Error('a security header middleware did not call next at once');
  }
  return steps;
}

/** Does to `res` what the recorded middlewares would have done. */
export function applyHeaders(res: ServerResponse, steps: HeaderSteps): void {
  for (const [name, value] of steps)
    if (value === null) res.removeHeader(name);
    else res.setHeader(name, value);
}
