import type { Command } from 'commander';
import { queueStateCommand } from './queueState';

/** `taskwire pause QUEUE`: creates the queue if it does not exist yet, so a pause may precede the first put (queueState.ts). */
export function pauseCommand(): Command {
  return queueStateCommand('pause', true);
}
