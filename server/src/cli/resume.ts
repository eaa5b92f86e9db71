import type { Command } from 'commander';
import { queueStateCommand } from './queueState';

/** `taskwire resume QUEUE`: refuses a queue that does not exist (exit 7), with nothing to resume (queueState.ts). */
export function resumeCommand(): Command {
  return queueStateCommand('resume', false);
}
