// Key names. Every key of a queue carries the hash tag of the queue's family: its name with one
// trailing `.dead` removed, so a queue and its dead-letter queue share a Cluster slot and
// dead-lettering is one script. The scripts build the same names (luaCommon.ts).

/** The family of a queue: `jobs` and `jobs.dead` are both `jobs`. */
export function familyOf(queue: string): string {
  return queue.length > 5 && queue.endsWith('.dead') ? queue.slice(0, -5) : queue;
}

/** The prefix of every key of a family. */
export function familyPrefix(family: string): string {
  return `tw:{${family}}:`;
}

/** The hash of a queue's options and counters: the key a script on that queue is routed by. */
export function queueKey(queue: string): string {
  return `${familyPrefix(familyOf(queue))}q:${queue}`;
}

/** The list of a family's entries bound for other families (results for replyTo, dead letters). */
export function outboxKey(family: string): string {
  return `${familyPrefix(family)}outbox`;
}

/**
 * The key a manager's scripts on a family are called with (KEYS[1]): it routes the call to the
 * family's slot and tells the script which manager runs it (no such key is ever written).
 */
export function scriptKey(family: string, managerId: string): string {
  return `${familyPrefix(family)}m:${managerId}`;
}

/** The pub/sub channel a family's scripts publish the queues they changed on, as `<manager id>/<queue>`. */
export function wakeChannel(family: string): string {
  return `${familyPrefix(family)}wake`;
}

/** Global keys (no hash tag), touched by plain commands only: the queues by creation time. */
export const REGISTRY_KEY = 'tw:queues';
/** A counter that gives each manager that starts a number of its own (the start of its id). */
export const MANAGER_SEQUENCE_KEY = 'tw:manager-seq';
/** The ids of the managers that have started on this store and not been found gone. */
export const MANAGERS_KEY = 'tw:managers';
/** A manager's heartbeat: present while it lives (refreshed every third of its TTL). */
export function heartbeatKey(managerId: string): string {
  return `tw:manager:${managerId}`;
}
