import { strict as assert } from 'node:assert';
import { ErrorCodes } from '../../src/protocol/generated';
import { invalidParams, methodNotFound, ProtocolError } from '../../src/protocol/errors';

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
    assert.deepEqual(new ProtocolError(ErrorCodes.InternalError).toJson(), { code: -32603, message: 'internal error' });
    assert.deepEqual(invalidParams('"max" must be >= 1', '/max').toJson(), {
      code: -32602,
      message: 'invalid params: "max" must be >= 1',
      data: { field: '/max' },
    });
  });

  it('names the method that was not found', () => {
    assert.equal(methodNotFound('x/y').message, 'method not found: "x/y"');
  });

  it('keeps a generic message for a code outside the registry', () => {
    assert.equal(new ProtocolError(1999).message, 'error 1999');
  });
});
