/**
 * `new Date(ms).toISOString()`, remembering the last few answers: the tasks of one batch
 * share their enqueue time and their lease deadline to the millisecond, and formatting a date
 * was a tenth of the manager's time per task on batched workloads.
 */
const SLOTS = 4;
const cachedMs: number[] = new Array<number>(SLOTS).fill(NaN);
const cachedText: string[] = new Array<string>(SLOTS).fill('');
let nextSlot = 0;

export function isoTime(ms: number): string {
  for (let i = 0; i < SLOTS; i++) if (cachedMs[i] === ms) return cachedText[i]!;
  const text = new Date(ms).toISOString();
  cachedMs[nextSlot] = ms;
  cachedText[nextSlot] = text;
  nextSlot = (nextSlot + 1) % SLOTS;
  return text;
}
