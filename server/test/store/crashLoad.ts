import { strict as assert } from 'node:assert';
import type { ConnectOptions, TaskwireClient } from '../../src';

// The load of the crash tests: producers and workers busy on one manager until it is killed,
// and what each side saw answered. Shared by crash.test.ts and crashRestart.test.ts.

/** Every task on `queue`, taken with autoAck: id → attempt. */
export async function drain(client: TaskwireClient, queue: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (;;) {
    const tasks = await client.queue(queue).getMany(1000, { timeout: 0, autoAck: true });
    if (tasks.length === 0) return found;
    for (const task of tasks) found.set(task.id, task.attempt);
  }
}

export interface Load {
  /** id → when the put that created it was answered. */
  produced: Map<string, number>;
  /** id → the attempt a worker received. */
  received: Map<string, number>;
  /** Ids whose ack was sent: with the kill, an ack may be applied and never answered. */
  ackSent: Set<string>;
  /** id → when its ack was answered. */
  acked: Map<string, number>;
  killedAt: number;
}

/**
 * Three producers put (batches of 1 to 4) and two workers get and ack (one quick, one that holds
 * its tasks 30 ms, so some are leased at the kill) until `ms` have passed and enough happened;
 * then `kill` kills the manager (and resolves with when). Only answers that arrived count.
 */
export async function loadThenKill(client: (options: Partial<ConnectOptions>) => Promise<TaskwireClient>, kill: () => Promise<number>, ms: number): Promise<Load> {
  const load: Load = { produced: new Map(), received: new Map(), ackSent: new Set(), acked: new Map(), killedAt: 0 };
  let killing = false;
  const unexpected: unknown[] = [];
  const guard = (loop: Promise<void>) => loop.catch((error: unknown) => void (killing || unexpected.push(error)));
  const producers = await Promise.all([0, 1, 2].map((i) => client({ name: `producer-${i}`, role: 'producer' })));
  const workers = await Promise.all([0, 1].map((i) => client({ name: `worker-${i}` })));
  const loops = [
    ...producers.map((client, p) =>
      guard(
        (async () => {
          const jobs = client.queue('jobs');
          for (let n = 0; !killing; n++) {
            const ids = await jobs.putMany(Array.from({ length: 1 + (n % 4) }, (_, i) => ({ payload: `p${p}-${n}-${i}` })));
            const now = Date.now();
            for (const id of ids) load.produced.set(id, now);
          }
        })(),
      ),
    ),
    ...workers.map((client, w) =>
      guard(
        (async () => {
          const jobs = client.queue('jobs');
          while (!killing) {
            const tasks = await jobs.getMany(8, { timeout: 1 });
            for (const task of tasks) load.received.set(task.id, task.attempt);
            if (tasks.length === 0) continue;
            if (w === 1) await new Promise((done) => setTimeout(done, 30));
            for (const task of tasks) load.ackSent.add(task.id);
            await jobs.ackMany(tasks.map((task) => ({ id: task.id })));
            const now = Date.now();
            for (const task of tasks) load.acked.set(task.id, now);
          }
        })(),
      ),
    ),
  ];
  const started = Date.now();
  while (Date.now() - started < ms || load.produced.size < 200 || load.acked.size < 50) {
    if (Date.now() - started > 10_000) throw new Error(`the load did not get going: ${load.produced.size} put, ${load.acked.size} acked`);
    await new Promise((done) => setTimeout(done, 20));
  }
  killing = true;
  load.killedAt = await kill();
  await Promise.all(loops);
  assert.deepEqual(unexpected, [], 'the load failed before the kill');
  return load;
}

/** What a restart kept of a load, checked against what was answered before the kill. */
export interface RecoveryCheck {
  /** Tasks present after the restart. */
  present: number;
  /** Tasks a worker held (received, not acked) at the kill, back with attempt + 1. */
  heldAtKill: number;
}

/**
 * With fsync always, asserts: every answered put whose ack was never sent is present; no task
 * whose ack was answered came back; each task a worker held at the kill is back with attempt + 1.
 */
export function assertNothingLost(load: Load, present: Map<string, number>, round = ''): RecoveryCheck {
  // Gone after the restart is fine only for a task whose ack was sent (answered or not).
  const lost = [...load.produced.keys()].filter((id) => !load.ackSent.has(id) && !present.has(id));
  assert.deepEqual(lost, [], `${round}${lost.length} answered puts lost`);
  const cameBack = [...load.acked.keys()].filter((id) => present.has(id));
  assert.deepEqual(cameBack, [], `${round}${cameBack.length} acked tasks came back`);
  const heldAtKill = [...load.received].filter(([id]) => !load.acked.has(id) && present.has(id));
  for (const [id, attempt] of heldAtKill) assert.equal(present.get(id), attempt + 1, `${round}task ${id} leased at the kill`);
  return { present: present.size, heldAtKill: heldAtKill.length };
}
