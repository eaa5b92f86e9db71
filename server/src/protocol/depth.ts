// How deeply a parsed JSON value nests. JSON.parse builds any depth without trouble, but
// everything recursive that touches the value afterwards does not: JSON.stringify, for one,
// throws "Maximum call stack size exceeded" somewhere past a few thousand levels, so a task
// of 10 KB of `[` could never be delivered. The server refuses such messages on arrival.

/**
 * True when `value` nests arrays and objects more than `maxDepth` levels deep (a scalar is
 * depth 0, `[]` and `{}` depth 1, `[[1]]` depth 2). Iterative, so it cannot itself run out of
 * stack, and it stops at the first container past the limit.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const containers: object[] = [value];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const container = containers.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    if (Array.isArray(container)) {
      for (const item of container) {
        if (item !== null && typeof item === 'object') {
          containers.push(item as object);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in container) {
        const item = (container as Record<string, unknown>)[key];
        if (item !== null && typeof item === 'object') {
          containers.push(item as object);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}
