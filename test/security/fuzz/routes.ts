import { RequestMethod } from '@nestjs/common';
import { PARAMTYPES_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { type TestApp } from '../../support/app.js';
import { mappedRoutes } from '../../support/routes.js';

export type DtoClass = new () => object;

/** What a handler takes from the request, as its decorators declare it. */
export interface HandlerInputs {
  method: string;
  path: string;
  /** The metatype of `@Body()`, when the handler has one. */
  body: DtoClass | null;
  /** Names given to `@Query('name')`. */
  query: string[];
  /** Names given to `@Param('name')`. */
  params: string[];
}

export const routeKey = (route: { method: string; path: string }): string =>
  `${route.method} ${route.path}`;

/**
 * Every handler Nest mapped (test/support/routes.ts), with the inputs its parameter decorators
 * declare. A `@Body()` without a DTO class, a `@Query()` or `@Param()` without a name would take
 * input the fuzzer cannot describe: they throw.
 */
export function handlersOf(t: TestApp): HandlerInputs[] {
  return mappedRoutes(t.app).map(({ method, path, name, targets: [, controller] }) => {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<
      string,
      { index: number; data?: unknown }
    >;
    const types = (Reflect.getMetadata(PARAMTYPES_METADATA, controller.prototype, name) ??
      []) as unknown[];
    const inputs: HandlerInputs = {
      method: RequestMethod[method],
      path,
      body: null,
      query: [],
      params: [],
    };
    const where = `${routeKey(inputs)} (${controller.name}.${name})`;
    for (const [key, arg] of Object.entries(args)) {
      const type = Number(key.split(':')[0]);
      if (type === Number(RouteParamtypes.BODY)) {
        const dto = types[arg.index];
        if (typeof dto !== 'function' || dto === Object || arg.data !== undefined)
          throw new Error(`${where}: @Body() must take a whole DTO class`);
        inputs.body = dto as DtoClass;
      } else if (type === Number(RouteParamtypes.QUERY) || type === Number(RouteParamtypes.PARAM)) {
        if (typeof arg.data !== 'string')
          throw new Error(`${where}: @Query()/@Param() must name the value it reads`);
        (type === Number(RouteParamtypes.QUERY) ? inputs.query : inputs.params).push(arg.data);
      }
    }
    inputs.query.sort();
    inputs.params.sort();
    return inputs;
  });
}
