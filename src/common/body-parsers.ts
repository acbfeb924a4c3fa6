import { type NextFunction, type Request, type Response } from 'express';

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Body parsers run one after the other, only on a request that has a body (a Content-Length or
 * a Transfer-Encoding, RFC 9112 §6.3: what body-parser itself checks first). A GET or HEAD has
 * none, and was costing a request two parser calls that each found nothing to do; such a
 * request's `req.body` stays undefined, as the parsers leave it.
 */
export function bodyParsers(...parsers: Middleware[]): Middleware {
  return (req, res, next) => {
    const { headers } = req;
    if (headers['transfer-encoding'] === undefined && headers['content-length'] === undefined) {
      if (!('body' in req)) (req as { body?: unknown }).body = undefined;
      return next();
    }
    let index = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined || index === parsers.length) return next(error);
      parsers[index++](req, res, step);
    };
    step();
  };
}
