/** Far deeper than any request body needs: every DTO is an object of strings, flags and lists. */
export const MAX_JSON_DEPTH = 32;

/**
 * How deep a parsed body nests, walked with an explicit stack: the depth that would overflow a
 * recursive walk (class-transformer's, in the validation pipe) cannot overflow this one. Stops as
 * soon as it passes `limit`.
 */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) break;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}
