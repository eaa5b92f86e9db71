'use strict';
// Mocha's dot reporter, followed by one plain closing line ("12 passed, 0 failed, 1 skipped")
// that CI and people can read without knowing mocha's own wording. Each failed test is also
// named on a line of its own ("failed: suite › test"), which scripts/runTests.mjs repeats in
// its summary, so a failure deep in a long log is still named at the end.
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Dot {
  constructor(runner, options) {
    super(runner, options);
    const failedTitles = [];
    runner.on(EVENT_TEST_FAIL, (test) => failedTitles.push(test.titlePath().join(' › ')));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      // After the dot reporter's epilogue, which is also written on EVENT_RUN_END.
      process.nextTick(() => {
        for (const title of failedTitles) process.stdout.write(`failed: ${title}\n`);
        process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`);
      });
    });
  }
}

module.exports = SummaryReporter;
