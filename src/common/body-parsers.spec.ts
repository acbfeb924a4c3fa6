import { describe, expect, it } from '@jest/globals';
import express, { json, type NextFunction, type Request, type Response, urlencoded } from 'express';
import request from 'supertest';
import { bodyParsers } from './body-parsers.js';

describe('bodyParsers', () => {
  const seen: string[] = [];
  const spy =
    (name: string) =>
    (_req: Request, _res: Response, next: NextFunction): void => {
      seen.push(name);
      next();
    };
  const app = express();
  app.use(
    bodyParsers(
      spy('first'),
      json({ limit: '1kb' }),
      urlencoded({ extended: false, limit: '1kb' }),
      spy('last'),
    ),
  );
  app.all('/', (req, res) => void res.json({ body: req.body ?? 'none', own: 'body' in req }));
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) =>
    res.status(error.status ?? 500).json({ error: error.message }),
  );

  it('skips every parser on a request without a body, leaving req.body undefined', async () => {
    seen.length = 0;
    const response = await request(app).get('/');
    expect(response.body).toEqual({ body: 'none', own: true });
    expect(seen).toEqual([]);
  });

  it('runs them in order on a request with a body: JSON and forms are parsed', async () => {
    seen.length = 0;
    expect((await request(app).post('/').send({ a: 1 })).body).toEqual({
      body: { a: 1 },
      own: true,
    });
    expect(seen).toEqual(['first', 'last']);
    const form = await request(app).post('/').type('form').send('b=2');
    expect(form.body).toEqual({ body: { b: '2' }, own: true });
    const empty = await request(app).post('/').set('content-type', 'application/json').send('');
    expect(empty.status).toBe(200);
  });

  it("passes a parser's error on and runs nothing after it", async () => {
    seen.length = 0;
    const response = await request(app)
      .post('/')
      .set('content-type', 'application/json')
      .send(`{"a":"${'x'.repeat(2000)}"}`);
    expect(response.status).toBe(413);
    expect(seen).toEqual(['first']);
  });
});
