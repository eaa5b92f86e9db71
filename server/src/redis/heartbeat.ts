import type { Cluster, Redis } from 'ioredis';
import { heartbeatKey, MANAGERS_KEY } from './keys';

/**
 * This manager's heartbeat, and the verdict on the others'. Every third of the TTL it refreshes
 * its own key (which expires after the TTL) and looks at the others'. Another manager is gone
 * when its key is absent while both hold:
 * - this manager's own heartbeat is fresh (its last refresh succeeded less than half a TTL ago):
 *   a manager cut off from Redis judges nobody;
 * - this manager has been connected, beating without a failure, for at least a TTL in Redis's
 *   time: after an outage (or a restart of Redis from its AOF) every key may look expired, and
 *   the live managers need a full TTL to refresh theirs before anyone may judge them.
 * A lease held by a live worker on a live manager is therefore never taken away; a manager that
 * is cut off from Redis for longer than its TTL while Redis stays up is treated as gone.
 */
export class ManagerHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = 0;
  /** Redis time of the first beat of the current unbroken run of successful beats. */
  private beatingSince: number | undefined;
  private running = false;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly managerId: string,
    private readonly ttlMs: number,
    /** Releases a gone manager's leases; resolves once done everywhere (then it is forgotten). */
    private readonly onGone: (managerId: string) => Promise<void>,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), Math.max(10, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The connection dropped (or came back): the wait before judging others starts again. */
  interrupted(): void {
    this.beatingSince = undefined;
  }

  private async beat(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.redis.set(heartbeatKey(this.managerId), String(Date.now()), 'PX', this.ttlMs);
      await this.redis.sadd(MANAGERS_KEY, this.managerId);
      this.lastBeat = Date.now();
      const [seconds, micros] = await this.redis.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      this.beatingSince ??= now;
      if (now - this.beatingSince < this.ttlMs) return;
      for (const other of await this.redis.smembers(MANAGERS_KEY)) {
        if (other === this.managerId) continue;
        if ((await this.redis.exists(heartbeatKey(other))) === 1) continue;
        // Its own beat may have gone stale while this loop ran (a long reap): judge no further.
        if (Date.now() - this.lastBeat >= this.ttlMs / 2) return;
        await this.onGone(other);
        await this.redis.srem(MANAGERS_KEY, other);
      }
    } catch (error) {
      this.beatingSince = undefined;
      this.onFailure(error);
    } finally {
      this.running = false;
    }
  }
}
