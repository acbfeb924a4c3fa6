const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d{1,9})(ms|s|m|h|d)$/;

/** Parses durations such as `15m`, `12h`, `500ms` into milliseconds; returns undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const match = PATTERN.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2]];
}

/** Milliseconds of a duration EnvSchema has already validated. */
export function ms(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new Error(`unreachable: ${value} passed validation`);
  return parsed;
}
