import { randomBytes } from 'node:crypto';

/**
 * A manager's id when its backend does not give one (the in-process queues): random per
 * process, short enough to read in a list of workers (spec §7.18: `managerId`, `manager`).
 * 48 random bits: managers that share a store do not collide in practice, and a shared-store
 * backend that needs more (its heartbeat keys) supplies its own.
 */
export function newManagerId(): string {
  return `m-${randomBytes(6).toString('hex')}`;
}
