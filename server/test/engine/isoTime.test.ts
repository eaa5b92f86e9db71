import { strict as assert } from 'node:assert';
import { isoTime } from '../../src/engine/isoTime';

describe('engine: isoTime', () => {
  it('formats like Date.prototype.toISOString, for repeated and changing instants', () => {
    const base = Date.UTC(2026, 10, 27, 15, 0, 0, 0);
    // More distinct instants than it remembers, revisited out of order.
    const instants = [0, 1, 0, 2, 3, 4, 5, 1, 999, 1000, 0, 86_400_000, 5].map((d) => base + d);
    for (const ms of instants) assert.equal(isoTime(ms), new Date(ms).toISOString());
  });

  it('throws RangeError for an instant Date cannot represent, as toISOString does', () => {
    assert.throws(() => isoTime(8.64e15 + 1), RangeError);
  });
});
