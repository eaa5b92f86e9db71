/**
 * Sessions that ended while a store that answers later (Redis) releases what they held: each
 * stays describable until its last release settles, so the released events still name it. A
 * session may be released twice (`session/close` or the manager stopping, then its socket's
 * close), and the second release, finding nothing held, settles first.
 */
export class DepartingSessions<T> {
  private readonly entries = new Map<string, { session: T; releases: number }>();

  get(id: string): T | undefined {
    return this.entries.get(id)?.session;
  }

  /** Keeps `session` describable as `id` at least until `releasing` settles. */
  keepUntil(id: string, session: T, releasing: Promise<unknown>): void {
    const entry = this.entries.get(id) ?? { session, releases: 0 };
    entry.releases++;
    this.entries.set(id, entry);
    const settled = () => {
      if (--entry.releases === 0) this.entries.delete(id);
    };
    releasing.then(settled, settled);
  }
}
