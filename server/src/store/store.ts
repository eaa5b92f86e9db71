import type { EngineState, JournalSink } from '../engine/journal';

/**
 * Where queue state lives beyond the process, as the server sees it. Without a store the
 * manager keeps everything in memory. A store receives the engine's records (JournalSink),
 * hands back what it recovered, and tells the server when records are durable so that an
 * answer is never sent before the change it reports would survive a crash.
 */
export interface TaskStore extends JournalSink {
  /** The state found when the store was opened, to restore() into a new engine. */
  readonly recovered: EngineState;

  /**
   * Starts keeping records once the engine holds the recovered state. `snapshot` reads the
   * engine's state (for compaction); `onFailure` is called once if the store can no longer
   * write, after which every onDurable callback gets the error.
   */
  start(snapshot: () => EngineState, onFailure: (error: Error) => void): void;

  /**
   * Calls back once every record appended so far, and any appended before the current turn of
   * the event loop ends, is as durable as the store promises (its fsync mode); with an error
   * if the store failed. Callbacks run in the order they were registered.
   */
  onDurable(callback: (error?: Error) => void): void;

  /** Writes what is pending, syncs and releases the store. */
  close(): Promise<void>;
}
