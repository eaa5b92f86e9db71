import { strict as assert } from 'node:assert';
import { ReadyQueue } from '../../src/engine/readyQueue';

function drain<T>(queue: ReadyQueue<T>): T[] {
  const out: T[] = [];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
  return out;
}

describe('ReadyQueue', () => {
  it('starts empty', () => {
    const queue = new ReadyQueue<string>();
    assert.equal(queue.length, 0);
    assert.equal(queue.shift(), undefined);
    assert.deepEqual(queue.peek(10), []);
  });

  it('is FIFO within one priority', () => {
    const queue = new ReadyQueue<string>();
    for (const item of ['a', 'b', 'c']) queue.push(item, 0);
    assert.deepEqual(drain(queue), ['a', 'b', 'c']);
  });

  it('delivers higher priorities first, including negative and fractional ones', () => {
    const queue = new ReadyQueue<string>();
    queue.push('zero-1', 0);
    queue.push('minus', -5);
    queue.push('ten-1', 10);
    queue.push('half', 0.5);
    queue.push('zero-2', 0);
    queue.push('ten-2', 10);
    assert.equal(queue.length, 6);
    assert.deepEqual(drain(queue), ['ten-1', 'ten-2', 'half', 'zero-1', 'zero-2', 'minus']);
    assert.equal(queue.length, 0);
  });

  it('pushFront puts an item at the head of its own priority level only', () => {
    const queue = new ReadyQueue<string>();
    queue.push('high', 5);
    queue.push('low-1', 0);
    queue.pushFront('low-0', 0);
    queue.pushFront('new-level', 3);
    assert.deepEqual(drain(queue), ['high', 'new-level', 'low-0', 'low-1']);
  });

  it('peek shows up to max items in delivery order without removing them', () => {
    const queue = new ReadyQueue<string>();
    queue.push('a', 0);
    queue.push('b', 1);
    queue.push('c', 0);
    queue.push('d', 2);
    assert.deepEqual(queue.peek(3), ['d', 'b', 'a']);
    assert.deepEqual(queue.peek(100), ['d', 'b', 'a', 'c']);
    assert.deepEqual(queue.peek(0), []);
    assert.equal(queue.length, 4);
    assert.deepEqual(drain(queue), ['d', 'b', 'a', 'c']);
  });

  it('recreates a priority level that was emptied, in the right place', () => {
    const queue = new ReadyQueue<string>();
    queue.push('one', 1);
    queue.push('zero', 0);
    assert.equal(queue.shift(), 'one');
    queue.push('two', 2);
    queue.push('one-again', 1);
    assert.deepEqual(drain(queue), ['two', 'one-again', 'zero']);
  });

  it('clear returns everything in delivery order and leaves a usable empty queue', () => {
    const queue = new ReadyQueue<string>();
    queue.push('low', 0);
    queue.push('high', 1);
    queue.push('low-2', 0);
    assert.deepEqual(queue.clear(), ['high', 'low', 'low-2']);
    assert.equal(queue.length, 0);
    assert.equal(queue.shift(), undefined);
    queue.push('again', 7);
    assert.deepEqual(drain(queue), ['again']);
  });

  it('keeps length in step through every operation', () => {
    const queue = new ReadyQueue<number>();
    for (let i = 0; i < 50; i++) queue.push(i, i % 4);
    queue.pushFront(-1, 2);
    assert.equal(queue.length, 51);
    for (let i = 0; i < 20; i++) queue.shift();
    assert.equal(queue.length, 31);
    assert.equal(drain(queue).length, 31);
  });
});
