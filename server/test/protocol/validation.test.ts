import { strict as assert } from 'node:assert';
import { ErrorCodes, METHODS, PROTOCOL_VERSIONS } from '../../src/protocol/generated';
import { ProtocolError } from '../../src/protocol/errors';
import { loadProtocolSpec, validateDefinition, validateParams, validateResult } from '../../src/protocol/validation';

const NONCE = 'q1b2ZXJ5LXJhbmRvbS1ieXRlcy1mb3ItYS10ZXN0LW5vbmNlIQ==';
const AT = '2026-11-05T10:20:30.123Z';

const QUEUE_STATS = {
  queue: 'jobs',
  ready: 3,
  leased: 1,
  delayed: 0,
  dead: 0,
  maxsize: 0,
  waitingGetters: 2,
  totals: { put: 10, acked: 6, nacked: 1, expired: 0, deadLettered: 0 },
};
/** A task as peek shows it: not leased, so without leaseUntil. */
const PEEKED_TASK = { id: 't-1', queue: 'jobs', payload: { url: 'image_url_1' }, attempt: 1, priority: 0, enqueuedAt: AT };
const TASK = { ...PEEKED_TASK, leaseUntil: AT };

/** Valid params, and (for requests) a valid result, for every method in the table. */
const GOOD_EXAMPLES: Record<keyof typeof METHODS, { params: unknown[]; result?: unknown }> = {
  'session/hello': {
    params: [
      { protocolVersions: ['2026-11'], nonce: NONCE, client: { name: 'worker-1' } },
      {
        protocolVersions: ['2026-11', '2027-05'],
        nonce: NONCE,
        client: { name: 'w', version: '1.0', language: 'python', host: 'box', pid: 42, role: 'producer', labels: { gpu: 'yes' } },
      },
    ],
    result: { protocolVersion: '2026-11', nonce: NONCE, server: { name: 'taskwire', version: '0.1.0' } },
  },
  'session/authenticate': {
    params: [{ proof: 'c6e226302d05515f67fff6035d7673ec27ec5b9fb8746d93fdd703678ff612d2' }],
    result: {
      sessionId: 's-1',
      serverProof: '7f7b3469b8b90791dcd9f48b97827ae7762d6f5736c4242967e4710814a68287',
      capabilities: { events: true, framings: ['ndjson', 'content-length'], autoCreateQueues: true },
      limits: { maxFrameBytes: 16777216, maxPayloadBytes: 1048576, maxBatch: 1000, maxSubscriptions: 16 },
    },
  },
  'session/ping': { params: [{}, undefined, null], result: { time: AT } },
  'queue/declare': {
    params: [{ queue: 'jobs' }, { queue: 'jobs', maxsize: 100, ttr: 30.5, maxAttempts: 5, deadLetter: 'jobs.failed' }, { queue: 'a:b/c-d_e.f', deadLetter: null, maxsize: 0, maxAttempts: 0 }],
    result: { queue: 'jobs', created: true },
  },
  'queue/list': { params: [{}], result: { queues: [QUEUE_STATS] } },
  'queue/stats': { params: [{ queue: 'jobs' }], result: { ...QUEUE_STATS, waitingPutters: 0, ttr: 60, maxAttempts: 0, deadLetter: null } },
  'queue/put': {
    params: [
      { queue: 'jobs', tasks: [{ payload: 'image_url_1' }] },
      {
        queue: 'jobs',
        tasks: [{ payload: null }, { payload: [1, 2], priority: -5, delay: 0, ttr: 0.5, replyTo: 'results', maxAttempts: 3 }],
        timeout: 0,
      },
    ],
    result: { ids: ['t-1', 't-2'] },
  },
  'queue/get': {
    params: [{ queue: 'jobs' }, { queue: 'jobs', max: 100, timeout: 0, ttr: 5, autoAck: true }],
    result: { tasks: [TASK, { ...TASK, id: 't-2', attempt: 2, replyTo: 'results', lastError: 'boom' }] },
  },
  'task/ack': { params: [{ acks: [{ id: 't-1' }, { id: 't-2', result: { ok: true } }] }], result: { acked: 2 } },
  'task/nack': { params: [{ nacks: [{ id: 't-1' }, { id: 't-2', error: 'boom', delay: 1.5 }] }], result: { nacked: 2 } },
  'task/touch': { params: [{ ids: ['t-1'] }, { ids: ['t-1', 't-2'], ttr: 120 }], result: { leaseUntil: AT } },
  'task/progress': {
    params: [
      { id: 't-1', percent: 40 },
      { id: 't-1', message: 'fetching page 2' },
      { id: 't-1', percent: 100, message: 'done', detail: { pages: [1, 2] } },
    ],
    result: { leaseUntil: AT },
  },
  'schedule/set': {
    params: [
      { name: 'recrawl', queue: 'jobs', task: { payload: 'https://example.com/' }, cron: '0 * * * *', timezone: 'Europe/Berlin' },
      { name: 'tick', queue: 'jobs', task: { payload: { n: 1 }, priority: 2 }, every: 10, startAt: AT },
    ],
    result: { schedule: { name: 'tick', queue: 'jobs', task: { payload: { n: 1 } }, every: 10, nextRun: AT, lastRun: { at: AT, taskId: 't-1' } }, created: true },
  },
  'schedule/list': {
    params: [{}, { queue: 'jobs' }],
    result: { schedules: [{ name: 'recrawl', queue: 'jobs', task: { payload: 'x' }, cron: '0 * * * *', timezone: 'Europe/Berlin', nextRun: AT, lastRun: { at: AT, skipped: 'queue full' } }] },
  },
  'schedule/delete': { params: [{ name: 'recrawl' }], result: {} },
  'queue/join': { params: [{ queue: 'jobs' }, { queue: 'jobs', timeout: 2 }], result: { done: true } },
  'queue/peek': { params: [{ queue: 'jobs' }, { queue: 'jobs', max: 10 }], result: { tasks: [PEEKED_TASK] } },
  'queue/purge': { params: [{ queue: 'jobs' }], result: { removed: 7 } },
  'queue/pause': { params: [{ queue: 'jobs' }], result: { ...QUEUE_STATS, paused: true } },
  'queue/resume': { params: [{ queue: 'jobs' }], result: { ...QUEUE_STATS, paused: false } },
  'manager/clients': {
    params: [{}],
    result: {
      clients: [
        {
          sessionId: 's-1',
          name: 'worker-1',
          role: 'worker',
          address: '127.0.0.1:50123',
          connectedAt: AT,
          lastSeenAt: '2026-11-05T10:20:31+01:00',
          leased: 1,
          acked: 10,
          nacked: 0,
          labels: { gpu: 'yes' },
        },
      ],
    },
  },
  'events/subscribe': {
    params: [{}, { queues: ['jobs', 'results'], kinds: ['put', 'ack', 'client-connected'], includePayload: true }],
    result: { subscription: 'sub-1' },
  },
  'events/unsubscribe': { params: [{ subscription: 'sub-1' }], result: {} },
  'manager/shutdown': { params: [{}], result: {} },
  'manager/stats': {
    params: [{}],
    result: {
      version: '0.1.0',
      startedAt: AT,
      uptime: 3600.5,
      connections: { current: 3, sessions: 2, total: 40, refused: 1, dropped: 2, tlsFailures: 0 },
      authFailures: 5,
      frames: { received: 1200, sent: 1250 },
      bytes: { received: 96000, sent: 180000 },
      events: { sent: 400, dropped: 12 },
      leases: { held: 1, expired: 3, released: 4 },
      memory: { rss: 60_000_000, heapUsed: 20_000_000, heapTotal: 30_000_000, external: 2_000_000 },
      rateWindow: 60,
      queues: [{ queue: 'jobs', ready: 3, leased: 1, delayed: 0, putsPerSecond: 12.5, acksPerSecond: 11.25 }],
    },
  },
  'events/event': {
    params: [
      { subscription: 'sub-1', kind: 'ack', queue: 'jobs', taskId: 't-1', result: 'done', at: AT },
      { subscription: 'sub-1', kind: 'client-connected', client: { sessionId: 's-2', name: 'w', role: 'monitor' }, at: AT },
      { subscription: 'sub-1', kind: 'released', queue: 'jobs', taskId: 't-1', attempt: 1, error: 'client stopped', at: AT },
    ],
  },
  '$/cancelRequest': { params: [{ id: 7 }, { id: 'req-7' }] },
  'session/close': { params: [{}] },
  'client/quiet': { params: [{ session: 's-1' }], result: { session: 's-1', manager: 'm-1', state: 'quiet', notified: true } },
  'client/stop': { params: [{ session: 's-1' }], result: { session: 's-1', manager: 'm-1', state: 'stopping', notified: false } },
  'session/state': { params: [{ state: 'quiet' }, { state: 'stopping' }] },
};

/** The error validateParams gives, which must be an InvalidParams error. */
function invalid(method: string, params: unknown): { message: string; field: string | undefined } {
  const error = validateParams(method, params);
  assert.ok(error instanceof ProtocolError, `expected ${JSON.stringify(params)} to be invalid for ${method}`);
  assert.equal(error.code, ErrorCodes.InvalidParams);
  return { message: error.message, field: error.data?.field };
}

describe('protocol/validation', () => {
  describe('loadProtocolSpec', () => {
    it('finds the spec and its method table matches the generated one', () => {
      const spec = loadProtocolSpec();
      assert.equal(spec.$id, 'https://taskwire.dev/spec/protocol.json');
      assert.deepEqual(spec.protocolVersions, [...PROTOCOL_VERSIONS]);
      const names = (spec.methods as Array<{ method: string }>).map((m) => m.method).sort();
      assert.deepEqual(names, Object.keys(METHODS).sort());
    });
  });

  describe('valid params', () => {
    for (const [method, example] of Object.entries(GOOD_EXAMPLES)) {
      it(`accepts good params of ${method}`, () => {
        for (const params of example.params) {
          assert.equal(validateParams(method, params), undefined, JSON.stringify(params));
        }
      });
    }

    it('has a good example for every method', () => {
      assert.deepEqual(Object.keys(GOOD_EXAMPLES).sort(), Object.keys(METHODS).sort());
    });
  });

  describe('valid results', () => {
    for (const [method, example] of Object.entries(GOOD_EXAMPLES)) {
      if (example.result === undefined) continue;
      it(`accepts a good result of ${method}`, () => {
        assert.equal(validateResult(method, example.result), undefined);
      });
    }
  });

  describe('messages', () => {
    it('names a missing required field', () => {
      assert.deepEqual(invalid('queue/stats', {}), { message: 'invalid params: missing required field "queue"', field: '/queue' });
    });

    it('treats absent and null params as {}', () => {
      assert.equal(invalid('queue/put', undefined).message, 'invalid params: missing required field "queue"');
      assert.equal(invalid('queue/put', null).message, 'invalid params: missing required field "queue"');
    });

    it('names an unknown field, also inside an array item', () => {
      assert.deepEqual(invalid('queue/stats', { queue: 'jobs', queu: 'x' }), {
        message: 'invalid params: unknown field "queu"',
        field: '/queu',
      });
      assert.deepEqual(invalid('queue/put', { queue: 'jobs', tasks: [{ payload: 1 }, { payload: 2, prio: 1 }] }), {
        message: 'invalid params: unknown field "tasks/1/prio"',
        field: '/tasks/1/prio',
      });
      assert.equal(invalid('session/ping', { x: 1 }).message, 'invalid params: unknown field "x"');
    });

    it('names a missing field inside an array item', () => {
      assert.deepEqual(invalid('task/ack', { acks: [{ id: 't-1' }, { result: 1 }] }), {
        message: 'invalid params: missing required field "acks/1/id"',
        field: '/acks/1/id',
      });
    });

    it('names the expected type', () => {
      assert.deepEqual(invalid('queue/put', { queue: 'jobs', tasks: [{ payload: 1, ttr: '5' }] }), {
        message: 'invalid params: "tasks/0/ttr" must be a number',
        field: '/tasks/0/ttr',
      });
      assert.equal(invalid('queue/put', { queue: 'jobs', tasks: [{ payload: 1, priority: 1.5 }] }).message, 'invalid params: "tasks/0/priority" must be an integer');
      assert.equal(invalid('queue/get', { queue: 'jobs', autoAck: 'yes' }).message, 'invalid params: "autoAck" must be true or false');
      assert.equal(invalid('queue/put', { queue: 'jobs', tasks: {} }).message, 'invalid params: "tasks" must be an array');
      assert.equal(invalid('$/cancelRequest', { id: 1.5 }).message, 'invalid params: "id" must be an integer or a string');
    });

    it('says when params as a whole have the wrong type', () => {
      assert.deepEqual(invalid('queue/stats', ['jobs']), { message: 'invalid params: params must be an object', field: '' });
      assert.equal(invalid('session/ping', 'x').message, 'invalid params: params must be an object');
    });

    it('names the bound of an out-of-range number', () => {
      assert.deepEqual(invalid('queue/get', { queue: 'jobs', max: 0 }), { message: 'invalid params: "max" must be >= 1', field: '/max' });
      assert.equal(invalid('queue/get', { queue: 'jobs', ttr: 0 }).message, 'invalid params: "ttr" must be > 0');
      assert.equal(invalid('queue/get', { queue: 'jobs', timeout: -1 }).message, 'invalid params: "timeout" must be >= 0');
      assert.equal(invalid('queue/join', { queue: 'jobs', timeout: 1e9 }).message, 'invalid params: "timeout" must be <= 31536000');
      assert.equal(invalid('queue/put', { queue: 'jobs', tasks: [{ payload: 0, priority: 2e6 }] }).message, 'invalid params: "tasks/0/priority" must be <= 1000000');
    });

    it('names length and size limits', () => {
      assert.equal(invalid('queue/put', { queue: 'jobs', tasks: [] }).message, 'invalid params: "tasks" must not be empty');
      assert.equal(invalid('task/touch', { ids: [''] }).message, 'invalid params: "ids/0" must not be empty');
      assert.equal(invalid('session/hello', { protocolVersions: ['2026-11'], nonce: 'short', client: { name: 'w' } }).message, 'invalid params: "nonce" must be at least 40 characters long');
      const versions = Array.from({ length: 33 }, (_, i) => `v${i}`);
      assert.equal(invalid('session/hello', { protocolVersions: versions, nonce: NONCE, client: { name: 'w' } }).message, 'invalid params: "protocolVersions" must have at most 32 items');
    });

    it("explains a bad queue name with the spec's words", () => {
      assert.deepEqual(invalid('queue/get', { queue: 'no spaces' }), {
        message: 'invalid params: "queue" must be a queue name: 1 to 195 characters of letters, digits and . _ - : /',
        field: '/queue',
      });
      assert.equal(invalid('queue/get', { queue: 'x'.repeat(201) }).field, '/queue');
    });

    it('lists the allowed values of an enum', () => {
      const params = { protocolVersions: ['2026-11'], nonce: NONCE, client: { name: 'w', role: 'boss' } };
      assert.deepEqual(invalid('session/hello', params), {
        message: 'invalid params: "client/role" must be one of "worker", "producer", "monitor"',
        field: '/client/role',
      });
    });

    it('prefers the specific error inside a oneOf', () => {
      assert.equal(invalid('queue/declare', { queue: 'jobs', deadLetter: 5 }).message, 'invalid params: "deadLetter" must be a string or null');
      assert.equal(
        invalid('queue/declare', { queue: 'jobs', deadLetter: 'bad name' }).message,
        'invalid params: "deadLetter" must be a queue name: 1 to 195 characters of letters, digits and . _ - : /',
      );
    });

    it('escapes field names in the JSON pointer', () => {
      const params = { protocolVersions: ['2026-11'], nonce: NONCE, client: { name: 'w', labels: { 'a/b': 5 } } };
      assert.equal(invalid('session/hello', params).field, '/client/labels/a~1b');
    });
  });

  describe('unknown methods', () => {
    it('answers MethodNotFound, also for names on Object.prototype', () => {
      for (const method of ['queue/frobnicate', 'toString', '__proto__', 'constructor', '']) {
        const error = validateParams(method, {});
        assert.ok(error instanceof ProtocolError, method);
        assert.equal(error.code, ErrorCodes.MethodNotFound);
      }
      assert.equal(validateParams('queue/frobnicate', {})?.message, 'method not found: "queue/frobnicate"');
    });
  });

  describe('validateResult and validateDefinition', () => {
    it('describe what is wrong with a result', () => {
      assert.equal(validateResult('session/ping', { time: 'yesterday' }), '"time" must be an ISO-8601 date-time');
      assert.equal(validateResult('queue/put', {}), 'missing required field "ids"');
      assert.equal(validateResult('queue/purge', { removed: -1 }), '"removed" must be >= 0');
    });

    it('say when there is no result to check', () => {
      assert.match(validateResult('events/event', {}) ?? '', /notification/);
      assert.match(validateResult('queue/frobnicate', {}) ?? '', /unknown method/);
    });

    it('check any definition, the JSON-RPC envelope included', () => {
      assert.equal(validateDefinition('Task', { ...TASK }), undefined);
      assert.equal(validateDefinition('Task', { ...TASK, attempt: 0 }), '"attempt" must be >= 1');
      assert.equal(validateDefinition('JsonRpcResponse', { jsonrpc: '2.0', id: 1, result: { ok: true } }), undefined);
      assert.equal(validateDefinition('JsonRpcResponse', { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }), undefined);
      assert.notEqual(validateDefinition('JsonRpcResponse', { jsonrpc: '2.0', id: 1 }), undefined);
      assert.equal(validateDefinition('JsonRpcRequest', { jsonrpc: '1.0', id: 1, method: 'x' }), '"jsonrpc" must be "2.0"');
      assert.equal(validateDefinition('ErrorData', { limit: 'maxBatch', max: 1000, reason: 'limit_exceeded' }), undefined);
      assert.match(validateDefinition('NoSuchThing', {}) ?? '', /no definition/);
    });

    it('check timestamps with and without fractions and offsets', () => {
      for (const time of ['2026-11-05T10:20:30Z', '2026-11-05T10:20:30.5+02:00', AT]) {
        assert.equal(validateDefinition('Timestamp', time), undefined, time);
      }
      for (const time of ['2026-11-05', '2026-11-05 10:20:30Z', '10:20:30Z']) {
        assert.notEqual(validateDefinition('Timestamp', time), undefined, time);
      }
    });
  });
});
