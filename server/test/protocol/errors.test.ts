import { strict as assert } from 'node:assert';
import { ErrorCodes } from '../../src/protocol/generated';
import {
  frameTooLarge,
  internalError,
  invalidParams,
  leaseUnknown,
  limitExceeded,
  methodNotFound,
  payloadTooLarge,
  ProtocolError,
  queueFull,
  queueNotFound,
  toProtocolError,
  unsupportedProtocolVersion,
} from '../../src/protocol/errors';

describe('protocol/errors', () => {
  it('takes the message from the registry and prefixes the detail with it', () => {
    assert.equal(new ProtocolError(ErrorCodes.ShuttingDown).message, 'shutting down');
    assert.equal(new ProtocolError(ErrorCodes.ParseError, 'unexpected end of input').message, 'parse error: unexpected end of input');
  });

  it('does not repeat a prefix the caller already wrote', () => {
    assert.equal(new ProtocolError(ErrorCodes.ParseError, 'parse error: bad line').message, 'parse error: bad line');
    assert.equal(new ProtocolError(ErrorCodes.RequestCancelled, 'request cancelled').message, 'request cancelled');
  });

  it('always carries the registry reason for application codes', () => {
    assert.deepEqual(new ProtocolError(ErrorCodes.QueueFull).data, { reason: 'queue_full' });
    assert.deepEqual(new ProtocolError(ErrorCodes.LeaseUnknown, 'x', { ids: ['a'], reason: 'wrong' }).data, {
      ids: ['a'],
      reason: 'lease_unknown',
    });
    assert.equal(new ProtocolError(ErrorCodes.InvalidParams).data, undefined);
  });

  it('serialises to a JSON-RPC error object, omitting absent data', () => {
    assert.deepEqual(internalError().toJson(), { code: -32603, message: 'internal error' });
    assert.deepEqual(invalidParams('"max" must be >= 1', '/max').toJson(), {
      code: -32602,
      message: 'invalid params: "max" must be >= 1',
      data: { field: '/max' },
    });
    assert.equal(JSON.stringify(internalError().toJson()), '{"code":-32603,"message":"internal error"}');
  });

  it('words the common errors for people', () => {
    assert.equal(queueFull('jobs', 3, 10).message, 'queue full: "jobs" has no room for 3 tasks (maxsize 10)');
    assert.equal(queueFull('jobs', 1).message, 'queue full: "jobs" has no room for 1 task');
    assert.deepEqual(queueFull('jobs').data, { queue: 'jobs', reason: 'queue_full' });
    assert.equal(queueNotFound('jobs').message, 'queue not found: "jobs"');
    assert.deepEqual(queueNotFound('jobs').data, { queue: 'jobs', reason: 'queue_not_found' });
    assert.equal(methodNotFound('x/y').message, 'method not found: "x/y"');
    assert.deepEqual(frameTooLarge(1024).toJson(), { code: -32004, message: 'frame too large: the limit is 1024 bytes', data: { limit: 1024 } });
    assert.equal(payloadTooLarge(100, 'tasks/3/payload').message, 'payload too large: "tasks/3/payload" is over the limit of 100 bytes');
    assert.deepEqual(payloadTooLarge(100).data, { limit: 100, reason: 'payload_too_large' });
    assert.deepEqual(limitExceeded('maxBatch', 1000, '1500 tasks in one request').toJson(), {
      code: 1005,
      message: 'limit exceeded: 1500 tasks in one request, maxBatch is 1000',
      data: { limit: 'maxBatch', max: 1000, reason: 'limit_exceeded' },
    });
    const unsupported = unsupportedProtocolVersion(['2025-01'], ['2026-11']);
    assert.equal(unsupported.message, 'unsupported protocol version: offered "2025-01", the server speaks "2026-11"');
    assert.deepEqual(unsupported.data, { supported: ['2026-11'] });
  });

  it('lists a few unknown leases in the message and all of them in data', () => {
    const ids = Array.from({ length: 8 }, (_, i) => `t-${i}`);
    const error = leaseUnknown(ids);
    assert.equal(error.message, 'unknown or expired lease: tasks "t-0", "t-1", "t-2", "t-3", "t-4" and 3 more not held by this session');
    assert.deepEqual(error.data, { ids, reason: 'lease_unknown' });
    assert.equal(leaseUnknown(['a']).message, 'unknown or expired lease: task "a" not held by this session');
  });

  it('rebuilds a received error as it was, unknown codes included', () => {
    const received = ProtocolError.fromJson({ code: 1002, message: 'queue full: "q"', data: { reason: 'queue_full', queue: 'q' } });
    assert.ok(received instanceof ProtocolError);
    assert.ok(received instanceof Error);
    assert.deepEqual(received.toJson(), { code: 1002, message: 'queue full: "q"', data: { reason: 'queue_full', queue: 'q' } });
    const future = ProtocolError.fromJson({ code: 1099, message: 'something new' });
    assert.deepEqual(future.toJson(), { code: 1099, message: 'something new' });
  });

  it('hides anything unexpected behind an internal error', () => {
    const known = queueNotFound('q');
    assert.equal(toProtocolError(known), known);
    assert.deepEqual(toProtocolError(new TypeError('secret detail')).toJson(), { code: -32603, message: 'internal error' });
    assert.deepEqual(toProtocolError('string').toJson(), { code: -32603, message: 'internal error' });
  });
});
