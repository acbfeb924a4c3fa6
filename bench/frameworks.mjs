/* global process, Buffer */
// `node bench/frameworks.mjs <kind>`: the same no-op as the service's /health/live (GET
// /health/live answering {"status":"ok"}) on one HTTP stack with nothing else, on the port in
// PORT; writes "listening" on stdout once it accepts connections. bench/run.ts measures each next
// to the service in one run, to show what the framework costs and what the service adds on top.
//   bare          node:http alone (with SPIN_US, busy that many µs before each answer; with
//                 HEADERS, lines «name: value», those headers on each answer)
//   express       Express 5 alone (the service's HTTP layer, without Nest)
//   fastify       Fastify 5 alone
//   nest-express  NestJS on Express: one controller, no middleware, no guard
//   nest-fastify  NestJS on Fastify (@nestjs/platform-fastify), the same controller
import 'reflect-metadata';
import { createServer } from 'node:http';

const kind = process.argv[2];
const port = Number(process.env.PORT);
const body = { status: 'ok' };
const listening = () => process.stdout.write('listening\n');

if (kind === 'bare') {
  const text = JSON.stringify(body);
  // SPIN_US: the bare server busy for that many µs before each answer, as if it had work of its own.
  const spinNs = BigInt(Math.round(Number(process.env.SPIN_US ?? 0) * 1000));
  const extra = (process.env.HEADERS ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]);
  createServer((_request, response) => {
    if (spinNs > 0n) {
      const until = process.hrtime.bigint() + spinNs;
      while (process.hrtime.bigint() < until);
    }
    for (const [name, value] of extra) response.setHeader(name, value);
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }).listen(port, '127.0.0.1', listening);
} else if (kind === 'express') {
  const { default: express } = await import('express');
  const app = express();
  app.get('/health/live', (_request, response) => response.json(body));
  app.listen(port, '127.0.0.1', listening);
} else if (kind === 'fastify') {
  const { default: fastify } = await import('fastify');
  const app = fastify();
  app.get('/health/live', (_request, reply) => reply.send(body));
  await app.listen({ port, host: '127.0.0.1' });
  listening();
} else if (kind === 'nest-express' || kind === 'nest-fastify') {
  const { Controller, Get, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  class Health {
    live() {
      return body;
    }
  }
  const live = Object.getOwnPropertyDescriptor(Health.prototype, 'live');
  Reflect.decorate([Get('live')], Health.prototype, 'live', live);
  class Root {}
  const controller = Reflect.decorate([Controller('health')], Health);
  const module = Reflect.decorate([Module({ controllers: [controller] })], Root);
  const adapter =
    kind === 'nest-fastify'
      ? new (await import('@nestjs/platform-fastify')).FastifyAdapter()
      : undefined;
  const app = adapter
    ? await NestFactory.create(module, adapter, { logger: false })
    : await NestFactory.create(module, { logger: false });
  await app.listen(port, '127.0.0.1');
  listening();
} else {
  process.stderr.write(`unknown kind ${kind}\n`);
  process.exit(2);
}
