// Validates the example messages in spec/examples/ and the transcripts and method headings of
// spec/protocol.md against spec/protocol.json, the protocol's one source of truth.
import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';

/** The test runs compiled, from server/dist/test/spec/. */
const SPEC_DIR = path.join(__dirname, '..', '..', '..', '..', 'spec');
const SCHEMA_ID = 'https://taskwire.dev/spec/protocol.json';

/** Codes any request may be answered with besides its method's own list (protocol.md §8.1). */
const GENERIC_CODES = new Set([-32700, -32600, -32601, -32602, -32603, -32005, -32800, 1006]);
/** Codes of errors that answer a frame rather than a request, so they carry id null (§3.5, §4.4, §8.1). */
const NULL_ID_CODES = new Set([-32700, -32600, -32004, 1005]);
/** §4.4: any request but the handshake's, before authentication, answers -32002. */
const NOT_AUTHENTICATED = -32002;
const CANCELLED = -32800;

interface MethodRow {
  method: string;
  kind: 'request' | 'notification';
  direction: 'clientToServer' | 'serverToClient';
  since: string;
  summary: string;
  params: { $ref: string };
  result?: { $ref: string };
  errors?: number[];
  blocking?: boolean;
}

interface ErrorRow {
  code: number;
  name: string;
  message: string;
  reason?: string;
  /** The protocol version that introduced the code. */
  since: string;
  description: string;
}

interface Spec {
  protocolVersions: string[];
  methods: MethodRow[];
  errors: ErrorRow[];
  $defs: Record<string, unknown>;
}

type Direction = 'clientToServer' | 'serverToClient';
type Json = Record<string, unknown>;

/** One line of a transcript: a message, or (for malformed input) the frame's raw text. */
interface Entry {
  direction: Direction;
  message?: Json;
  raw?: string;
}

interface ExampleFile {
  description: string;
  method: string | null;
  /** The authkey the handshake in this example was computed with. */
  authkey?: string;
  messages: Entry[];
}

const spec: Spec = JSON.parse(readFileSync(path.join(SPEC_DIR, 'protocol.json'), 'utf8'));
const methodByName = new Map(spec.methods.map((m) => [m.method, m]));
const errorByCode = new Map(spec.errors.map((e) => [e.code, e]));

const exampleDir = path.join(SPEC_DIR, 'examples');
const exampleNames = readdirSync(exampleDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const examples = new Map<string, ExampleFile>(exampleNames.map((f) => [f, JSON.parse(readFileSync(path.join(exampleDir, f), 'utf8')) as ExampleFile]));

/** The example file name of a method: `/` becomes `-`; `$/cancelRequest` is `cancel-request`. */
function exampleFileName(method: string): string {
  if (method === '$/cancelRequest') return 'cancel-request.json';
  return `${method.replace(/\//g, '-')}.json`;
}

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** Compiles protocol.json once, under ajv's strict mode. */
function validator(name: string): ValidateFunction {
  if (!ajv) {
    // The one relaxation is the server validator's (src/protocol/validation.ts):
    // allowUnionTypes, because type arrays such as ["integer", "string"] are plain JSON Schema.
    ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    ajv.addVocabulary(['protocolVersions', 'methods', 'errors']);
    ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    ajv.addSchema(spec);
  }
  let v = validators.get(name);
  if (!v) {
    v = ajv.getSchema(`${SCHEMA_ID}#/$defs/${name}`);
    assert.ok(v, `protocol.json has no $defs/${name}`);
    validators.set(name, v);
  }
  return v;
}

function defName(ref: { $ref: string }): string {
  const m = /^#\/\$defs\/(\w+)$/.exec(ref.$ref);
  assert.ok(m, `unexpected $ref ${ref.$ref}`);
  return m[1];
}

function assertValid(def: string, value: unknown, where: string): void {
  const v = validator(def);
  if (!v(value)) {
    assert.fail(`${where}: not a valid ${def}: ${ajv!.errorsText(v.errors, { dataVar: def })}`);
  }
}

function isValid(def: string, value: unknown): boolean {
  return validator(def)(value) === true;
}

function hmacHex(key: string, label: string, serverNonce: string, clientNonce: string, version: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(`${label}\n${serverNonce}\n${clientNonce}\n${version}`, 'utf8').digest('hex');
}

interface Pending {
  /** Absent for a malformed frame that still carried a usable id. */
  method?: string;
  params: Json;
  answered: boolean;
}

/**
 * Checks one connection's messages, in order: envelopes, params and results against the method
 * table, error codes against the registry, request/response pairing, cancellation, handshake
 * proofs (when the key is known). Returns the methods it exercised.
 */
function checkTranscript(label: string, entries: Entry[], authkey?: string): Set<string> {
  const exercised = new Set<string>();
  const requests = new Map<string | number, Pending>();
  const subscriptions = new Set<string>();
  let sawSubscribe = false;
  let handshake: 'unknown' | 'started' | 'authenticated' = 'unknown';
  let clientNonce: string | undefined;
  let serverNonce: string | undefined;
  let version: string | undefined;
  let proof: string | undefined;

  entries.forEach((entry, index) => {
    const where = `${label} #${index}`;
    assert.ok(entry.direction === 'clientToServer' || entry.direction === 'serverToClient', `${where}: bad direction`);
    assert.ok((entry.message === undefined) !== (entry.raw === undefined), `${where}: exactly one of message and raw`);

    if (entry.raw !== undefined) {
      // A raw frame shows input that is not a valid JSON-RPC message, as the client sent it.
      assert.equal(typeof entry.raw, 'string', `${where}: raw must be a string`);
      assert.equal(entry.direction, 'clientToServer', `${where}: only clients send malformed frames here`);
      assert.ok(!entry.raw.includes('\n'), `${where}: a frame has no raw newline`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(entry.raw);
      } catch {
        return;
      }
      assert.ok(Array.isArray(parsed) || (!isValid('JsonRpcRequest', parsed) && !isValid('JsonRpcNotification', parsed)), `${where}: a raw frame must not be a valid message; use "message"`);
      // An invalid request whose id is usable is answered with that id (§3.5).
      const id = (parsed as Json | null)?.id;
      if (!Array.isArray(parsed) && (typeof id === 'string' || Number.isInteger(id))) {
        assert.ok(!requests.has(id as string | number), `${where}: request id ${JSON.stringify(id)} is used twice`);
        requests.set(id as string | number, { params: {}, answered: false });
      }
      return;
    }

    const msg = entry.message!;
    assert.ok(msg !== null && typeof msg === 'object' && !Array.isArray(msg), `${where}: message must be an object`);
    assert.ok(!JSON.stringify(msg).includes('\n'), `${where}: NDJSON frames hold no raw newline`);

    if (typeof msg.method === 'string') {
      const method = msg.method;
      const params = (msg.params ?? {}) as Json;
      const row = methodByName.get(method);
      if ('id' in msg) {
        assertValid('JsonRpcRequest', msg, where);
        const id = msg.id as string | number;
        assert.ok(!requests.has(id), `${where}: request id ${JSON.stringify(id)} is used twice`);
        requests.set(id, { method, params, answered: false });
        if (row) {
          // Params are checked when the response shows whether they were meant to be invalid.
          assert.equal(row.kind, 'request', `${where}: ${method} is a notification, sent as a request`);
          assert.equal(entry.direction, row.direction, `${where}: ${method} goes ${row.direction}`);
          validator(defName(row.params));
          exercised.add(method);
        } else {
          assert.equal(entry.direction, 'clientToServer', `${where}: unknown method ${method} sent by the server`);
        }
        if (method === 'session/hello') {
          handshake = 'started';
          clientNonce = params.nonce as string;
        }
        if (method === 'session/authenticate') proof = params.proof as string;
      } else {
        assertValid('JsonRpcNotification', msg, where);
        assert.ok(row, `${where}: unknown notification ${method}`);
        assert.equal(row.kind, 'notification', `${where}: ${method} is a request, sent as a notification`);
        assert.equal(entry.direction, row.direction, `${where}: ${method} goes ${row.direction}`);
        assertValid(defName(row.params), params, `${where} params of ${method}`);
        exercised.add(method);
        if (method === '$/cancelRequest') {
          const target = requests.get(params.id as string | number);
          assert.ok(target && !target.answered, `${where}: $/cancelRequest names no pending request`);
          assert.ok(target.method && methodByName.get(target.method)?.blocking, `${where}: only blocking requests can be cancelled`);
        }
        if (method === 'events/event' && sawSubscribe) {
          assert.ok(subscriptions.has(params.subscription as string), `${where}: event for an unknown subscription`);
        }
      }
      return;
    }

    // A response.
    assertValid('JsonRpcResponse', msg, where);
    assert.equal(entry.direction, 'serverToClient', `${where}: responses come from the server`);
    const error = msg.error as { code: number; message: string; data?: Json } | undefined;
    if (msg.id === null) {
      assert.ok(error, `${where}: a response with id null is an error`);
      assert.ok(NULL_ID_CODES.has(error.code), `${where}: code ${error.code} answers a request, so it carries its id`);
    }
    let pending: Pending | undefined;
    if (msg.id !== null) {
      pending = requests.get(msg.id as string | number);
      assert.ok(pending, `${where}: response to an unknown id ${JSON.stringify(msg.id)}`);
      assert.ok(!pending.answered, `${where}: request ${JSON.stringify(msg.id)} answered twice`);
      pending.answered = true;
    }
    const row = pending?.method ? methodByName.get(pending.method) : undefined;
    if (row && pending) {
      const def = defName(row.params);
      // -32602 answers params that violate the schema, and only those; session/authenticate
      // answers any malformed params with -32001 instead (§4.3).
      if (error?.code === -32602) {
        assert.ok(!isValid(def, pending.params), `${where}: -32602 answers params that are valid ${def}`);
      } else if (!(row.method === 'session/authenticate' && error?.code === -32001)) {
        assertValid(def, pending.params, `${where}: params of ${row.method}`);
      }
    }

    if (error) {
      const reg = errorByCode.get(error.code);
      assert.ok(reg, `${where}: code ${error.code} is not in the error registry`);
      assert.ok(
        error.message === reg.message || error.message.startsWith(`${reg.message}: `),
        `${where}: message ${JSON.stringify(error.message)} must be ${JSON.stringify(reg.message)}, optionally followed by ": detail"`,
      );
      if (error.code >= 1000 && error.code <= 1999) {
        assert.ok(reg.reason, `${where}: the registry gives application error ${error.code} no reason`);
        assert.equal(error.data?.reason, reg.reason, `${where}: ${error.code} carries data.reason ${reg.reason}`);
      } else {
        assert.equal(error.data?.reason, undefined, `${where}: data.reason belongs to application errors`);
      }
      // §8.1: a session never gets a code newer than the version its hello chose.
      if (version !== undefined) assert.ok(reg.since <= version, `${where}: ${error.code} is since ${reg.since}, but the session speaks ${version}`);
      if (pending && !pending.method) {
        assert.equal(error.code, -32600, `${where}: a malformed request answers -32600`);
      } else if (pending && !row) {
        assert.equal(error.code, -32601, `${where}: an unknown method answers -32601`);
      }
      if (row) {
        const allowed = (row.errors ?? []).includes(error.code) || GENERIC_CODES.has(error.code) || (error.code === NOT_AUTHENTICATED && handshake === 'started');
        assert.ok(allowed, `${where}: ${row.method} may not answer ${error.code}`);
        if (error.code === CANCELLED) assert.ok(row.blocking, `${where}: ${row.method} does not block, so it is never cancelled`);
      }
      if (error.code === -32003) {
        assert.deepEqual(error.data?.supported, spec.protocolVersions, `${where}: data.supported lists the spec's versions`);
      }
      if (error.code === -32001 && authkey && proof && serverNonce && clientNonce && version) {
        const expected = hmacHex(authkey, 'taskwire-client', serverNonce, clientNonce, version);
        assert.notEqual(proof, expected, `${where}: a failed authentication shows a wrong proof`);
      }
      return;
    }

    assert.ok(row, `${where}: a result needs the request it answers`);
    assert.ok(row.result, `${where}: ${row.method} has no result`);
    assertValid(defName(row.result), msg.result, `${where} result of ${row.method}`);
    const result = msg.result as Json;
    if (row.method === 'session/hello') {
      version = result.protocolVersion as string;
      serverNonce = result.nonce as string;
      assert.ok((pending!.params.protocolVersions as string[]).includes(version), `${where}: version not offered`);
      assert.ok(spec.protocolVersions.includes(version), `${where}: version unknown to the spec`);
    }
    if (row.method === 'session/authenticate') {
      assert.equal(handshake, 'started', `${where}: authenticate succeeded without hello`);
      handshake = 'authenticated';
      if (authkey) {
        assert.ok(serverNonce && clientNonce && version, `${where}: the handshake lacks its hello`);
        assert.equal(proof, hmacHex(authkey, 'taskwire-client', serverNonce, clientNonce, version), `${where}: client proof`);
        assert.equal(result.serverProof, hmacHex(authkey, 'taskwire-server', serverNonce, clientNonce, version), `${where}: server proof`);
      }
    }
    if (row.method === 'events/subscribe') {
      sawSubscribe = true;
      subscriptions.add(result.subscription as string);
    }
  });

  for (const [id, p] of requests) assert.ok(p.answered, `${label}: request ${JSON.stringify(id)} (${p.method}) is never answered`);
  return exercised;
}

/** The methods of the table that a transcript's messages name (validity is checked elsewhere). */
function methodsNamed(entries: Entry[]): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    const method = e.message?.method;
    if (typeof method === 'string' && methodByName.has(method)) out.add(method);
  }
  return out;
}

/** The NDJSON transcripts of protocol.md: fenced blocks whose lines start with `-->` or `<--`. */
function markdownTranscripts(md: string): { label: string; entries: Entry[] }[] {
  const out: { label: string; entries: Entry[] }[] = [];
  const lines = md.split('\n');
  let section = '';
  let block: Entry[] | undefined;
  let start = 0;
  lines.forEach((line, i) => {
    const heading = /^#{2,4}\s+(\d+(?:\.\d+)*)\s/.exec(line);
    if (heading && !block) section = heading[1];
    if (/^```/.test(line)) {
      if (block) {
        if (block.length > 0) out.push({ label: `protocol.md §${section} (line ${start + 1})`, entries: block });
        block = undefined;
      } else {
        block = [];
        start = i;
      }
      return;
    }
    if (!block) return;
    const m = /^(-->|<--) (.*)$/.exec(line);
    if (!m) return;
    const direction: Direction = m[1] === '-->' ? 'clientToServer' : 'serverToClient';
    let parsed: unknown;
    try {
      parsed = JSON.parse(m[2]);
    } catch {
      block.push({ direction, raw: m[2] });
      return;
    }
    if (Array.isArray(parsed)) block.push({ direction, raw: m[2] });
    else block.push({ direction, message: parsed as Json });
  });
  assert.equal(block, undefined, 'protocol.md has an unclosed code fence');
  return out;
}

describe('spec: protocol.json, examples and protocol.md', () => {
  it('protocol.json compiles under ajv strict mode', () => {
    for (const name of Object.keys(spec.$defs)) validator(name);
  });

  it('the method table and error registry are well formed', () => {
    assert.equal(methodByName.size, spec.methods.length, 'method names are unique');
    assert.equal(errorByCode.size, spec.errors.length, 'error codes are unique');
    for (const m of spec.methods) {
      assert.ok(spec.protocolVersions.includes(m.since), `${m.method}: since ${m.since} is not a protocol version`);
      validator(defName(m.params));
      if (m.kind === 'request') {
        assert.ok(m.result, `${m.method}: a request has a result`);
        validator(defName(m.result));
      } else {
        assert.equal(m.result, undefined, `${m.method}: a notification has no result`);
      }
      for (const code of m.errors ?? []) assert.ok(errorByCode.has(code), `${m.method}: error ${code} is not in the registry`);
    }
    for (const e of spec.errors) {
      assert.ok(spec.protocolVersions.includes(e.since), `${e.code}: since ${e.since} is not a protocol version`);
      const application = e.code >= 1000 && e.code <= 1999;
      assert.equal(typeof e.reason === 'string', application, `${e.code}: application errors, and only they, have a reason`);
    }
  });

  describe('spec/examples', () => {
    for (const [file, example] of examples) {
      it(file, () => {
        assert.equal(typeof example.description, 'string');
        assert.ok(example.description.length > 0, 'a description');
        assert.ok(Array.isArray(example.messages) && example.messages.length > 0, 'messages');
        const exercised = checkTranscript(file, example.messages, example.authkey);
        if (example.method !== null) {
          assert.ok(methodByName.has(example.method), `${file}: method ${example.method} is not in the method table`);
          assert.ok(exercised.has(example.method), `${file}: no message of ${example.method}`);
        }
      });
    }

    it('every method in the method table has its example file', () => {
      const exercised = new Set<string>();
      for (const example of examples.values()) for (const m of methodsNamed(example.messages)) exercised.add(m);
      for (const m of spec.methods) {
        const file = exampleFileName(m.method);
        const example = examples.get(file);
        assert.ok(example, `no spec/examples/${file} for ${m.method}`);
        assert.equal(example.method, m.method, `${file} illustrates ${m.method}`);
        assert.ok(exercised.has(m.method), `no example message of ${m.method}`);
      }
    });

    it('every code in the error registry has an example', () => {
      const seen = new Set<number>();
      for (const example of examples.values()) {
        for (const entry of example.messages) {
          const error = entry.message?.error as { code: number } | undefined;
          if (error) seen.add(error.code);
        }
      }
      const missing = spec.errors.map((e) => e.code).filter((c) => !seen.has(c));
      assert.deepEqual(missing, [], `error codes without an example: ${missing.join(', ')}`);
    });
  });

  describe('protocol.md', () => {
    let md = '';
    before(() => {
      md = readFileSync(path.join(SPEC_DIR, 'protocol.md'), 'utf8');
    });

    it('has one method section per method of the table, numbered in table order', () => {
      const headings = [...md.matchAll(/^###\s+(\d+)\.(\d+)\s+`([^`]+)`\s*$/gm)].map((m) => ({
        section: Number(m[1]),
        number: Number(m[2]),
        method: m[3],
      }));
      const requests = headings.filter((h) => h.section === 5);
      const notifications = headings.filter((h) => h.section === 6);
      for (const h of [...requests, ...notifications]) {
        assert.ok(methodByName.has(h.method), `protocol.md §${h.section}.${h.number} names ${h.method}, not in protocol.json`);
      }
      const expect = (kind: MethodRow['kind']) => spec.methods.filter((m) => m.kind === kind).map((m) => m.method);
      assert.deepEqual(
        requests.map((h) => h.method),
        expect('request'),
        '§5 has a subsection for every request of protocol.json, in table order',
      );
      assert.deepEqual(
        notifications.map((h) => h.method),
        expect('notification'),
        '§6 has a subsection for every notification of protocol.json, in table order',
      );
      for (const list of [requests, notifications]) {
        list.forEach((h, i) => assert.equal(h.number, i + 1, `§${h.section}.${h.number} ${h.method}: numbered consecutively`));
      }
    });

    it('every method section has an example', () => {
      const sections = md.split(/^(?=###\s+\d+\.\d+\s+`)/m).slice(1);
      for (const text of sections) {
        const method = /^###\s+(?:5|6)\.\d+\s+`([^`]+)`/.exec(text)?.[1];
        if (!method) continue;
        const body = text.split(/^##\s/m)[0];
        const exercised = new Set<string>();
        for (const t of markdownTranscripts(body)) for (const m of methodsNamed(t.entries)) exercised.add(m);
        assert.ok(exercised.has(method), `the section of ${method} shows no message of it`);
      }
    });

    it('its NDJSON transcripts are valid', () => {
      const transcripts = markdownTranscripts(md);
      assert.ok(transcripts.length > 0, 'protocol.md shows transcripts');
      for (const t of transcripts) checkTranscript(t.label, t.entries);
    });
  });
});
