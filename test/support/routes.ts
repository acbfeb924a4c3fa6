import { type INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';

export interface MappedRoute {
  method: RequestMethod;
  path: string;
  /** The handler's property name: Nest keys its parameter decorators' metadata by it. */
  name: string;
  /** The handler and its controller, for reading the decorators' metadata. */
  targets: [() => void, new (...args: never[]) => object];
}

/**
 * The methods of a controller and of the classes it extends (a page's GET handler may be its base
 * class's), each name once, as Nest's MetadataScanner walks them.
 */
function handlerNames(prototype: object): Set<string> {
  const names = new Set<string>();
  for (let p = prototype; p !== Object.prototype; p = Object.getPrototypeOf(p) as object)
    for (const name of Object.getOwnPropertyNames(p)) names.add(name);
  return names;
}

/** Every controller handler Nest mapped in the app, sorted by path and method. */
export function mappedRoutes(app: INestApplication): MappedRoute[] {
  const routes: MappedRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      for (const name of handlerNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const path = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        routes.push({
          method,
          path: `/${base}/${path}`.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1'),
          name,
          targets: [handler as () => void, controller],
        });
      }
    }
  }
  return routes.sort((a, b) =>
    (a.path + RequestMethod[a.method]).localeCompare(b.path + RequestMethod[b.method]),
  );
}
