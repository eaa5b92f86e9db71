// The verdict of one case, shared by both directions of the kit and by every reporter.
import type { Level } from './cases';

export type Verdict = 'pass' | 'fail' | 'skipped';

export interface CaseResult {
  id: string;
  level: Level;
  section: string;
  title: string;
  file: string;
  verdict: Verdict;
  /** Why it failed or was skipped, in one line. */
  reason?: string;
  /** On failure: what the case expected, as JSON or words. */
  expected?: string;
  /** On failure: what arrived instead (messages, a close, nothing). */
  actual?: string;
  /** The step that failed, counted from 1. */
  step?: number;
  seconds: number;
}

/** A failure inside a case: what was expected and what happened, for the report. */
export class CaseFailure extends Error {
  constructor(
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(message);
  }
}

/**
 * A case that cannot run against this server, found out while running (the server does not
 * announce a capability the case is about): reported SKIP with the reason, not as a failure.
 */
export class CaseSkipped extends Error {}

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

export function totalsOf(results: readonly CaseResult[]): Totals {
  return {
    passed: results.filter((r) => r.verdict === 'pass').length,
    failed: results.filter((r) => r.verdict === 'fail').length,
    skipped: results.filter((r) => r.verdict === 'skipped').length,
  };
}
