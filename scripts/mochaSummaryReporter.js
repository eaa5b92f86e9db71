'use strict';
// Mocha's dot reporter, followed by one plain closing line ("12 passed, 0 failed, 1 skipped")
// that CI and people can read without knowing mocha's own wording.
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Dot {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      // After the dot reporter's epilogue, which is also written on EVENT_RUN_END.
      process.nextTick(() => process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`));
    });
  }
}

module.exports = SummaryReporter;
