/* global process, setInterval */
// Loaded into a service under test with `node --import` (startup-modules.spec.ts): records the
// packages the process has loaded and writes them, a name a line, to LOADED_PACKAGES_FILE every
// 100 ms. The hook only watches: it hands every module on unchanged.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const file = process.env.LOADED_PACKAGES_FILE;
const packages = new Set();
let written = 0;

if (file) {
  registerHooks({
    load(url, context, nextLoad) {
      const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
      if (name) packages.add(name);
      return nextLoad(url, context);
    },
  });
  setInterval(() => {
    if (packages.size === written) return;
    written = packages.size;
    writeFileSync(file, [...packages].sort().join('\n'));
  }, 100).unref();
}
