import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type EnvSchema } from './env.schema.js';

/** The widget code (POS_WIDGET_BASE_URL) and its placement check (docs/pos-widget.md). */
export interface WidgetConfig {
  posBaseUrl: string;
  /** Tests only (refused in production): private and loopback sites may be fetched. */
  allowPrivateAddresses: boolean;
  /** Tests only: the PEM text of an extra CA trusted by the check. */
  extraCa?: string;
}

/** Reads WIDGET_CHECK_CA_FILE relative to `cwd`. */
export function widgetConfig(env: EnvSchema, cwd: string): WidgetConfig {
  return {
    posBaseUrl: env.POS_WIDGET_BASE_URL,
    allowPrivateAddresses: env.WIDGET_CHECK_ALLOW_PRIVATE === 'true',
    extraCa: env.WIDGET_CHECK_CA_FILE
      ? readFileSync(resolve(cwd, env.WIDGET_CHECK_CA_FILE), 'utf8')
      : undefined,
  };
}
