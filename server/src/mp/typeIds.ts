/**
 * Which queue a type id registered with BaseManager.register() stands for: the one given
 * with `--mp-typeid NAME=QUEUE`, else the type id without a `get_` prefix and a `_queue`
 * suffix (`get_task_queue` → `task`, `get_results` → `results`, `jobs` → `jobs`).
 */
export class TypeIdMap {
  private readonly explicit: Map<string, string>;

  constructor(entries: Iterable<readonly [string, string]> = []) {
    this.explicit = new Map(entries);
  }

  queueFor(typeid: string): string {
    const given = this.explicit.get(typeid);
    if (given !== undefined) return given;
    const stripped = typeid.replace(/^get_/, '').replace(/_queue$/, '');
    return stripped === '' ? typeid : stripped;
  }

  /** The explicit entries, for the banner. */
  entries(): [string, string][] {
    return [...this.explicit];
  }
}

/** `NAME=QUEUE` of --mp-typeid; undefined when it is not of that form. */
export function parseTypeIdMapping(text: string): [string, string] | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z0-9._:/-]{1,195})$/.exec(text);
  return match ? [match[1]!, match[2]!] : undefined;
}
