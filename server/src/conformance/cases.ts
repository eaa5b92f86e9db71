// Loading the kit's case files (spec/conformance/cases/*.json for servers,
// client-cases/*.json for clients), checked against the case format's own JSON Schema
// (spec/conformance/case.schema.json) so that a mistake in a case file is reported as such
// and never as a failure of the implementation under test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { Framing } from '../protocol/framing';

export type Level = 'MUST' | 'SHOULD' | 'MAY';
export const LEVELS: readonly Level[] = ['MUST', 'SHOULD', 'MAY'];

/** Server options a case may need (see ServerRequirements in the case schema). */
export interface ServerOptionsNeeded {
  ttr?: number;
  maxAttempts?: number;
  maxFrameBytes?: number;
  maxPayloadBytes?: number;
  maxBatch?: number;
  maxSubscriptions?: number;
  handshakeTimeout?: number;
  maxConnections?: number;
  maxHandshakesPerAddress?: number;
  maxQueuedBytes?: number;
  noAutoCreate?: true;
}

export interface CaseCommon {
  id: string;
  /** Anchor of the section of spec/protocol.md, e.g. `s4.3`. */
  section: string;
  level: Level;
  title: string;
  /** Seconds the whole case may take. */
  timeout?: number;
  covers?: string[];
  /** The file the case came from, relative to the cases folder. */
  file: string;
}

/** Whom the kit's TLS client trusts for a connection: the run's CA (default) or a CA that signed nothing. */
export type Trust = 'unrelated-ca';

export type ServerStep =
  | { connect: string; framing?: Framing; transport?: 'tcp' }
  | { certificateRefused: string; trust?: Trust; servername?: string; within?: number }
  | { handshake: string; framing?: Framing; client?: Record<string, unknown>; versions?: string[] }
  | { send: unknown; on?: string }
  | { sendRaw: string | (string | Record<string, unknown>)[]; on?: string }
  | { request: string; params?: unknown; id?: number | string; on?: string; expect?: unknown; within?: number }
  | { notify: string; params?: unknown; on?: string }
  | { expect: unknown; on?: string; within?: number }
  | { expectNoMessage: number; matching?: unknown; on?: string }
  | { expectClose: string; within?: number }
  | { expectOpen: string }
  | { close: string }
  | { wait: number };

export interface ServerCase extends CaseCommon {
  kind: 'server';
  /**
   * tls: the case checks TLS itself and runs only when the run is over TLS. capabilities:
   * optional features the case needs announced (true) or not announced (false), checked at
   * its first handshake (the case's first step).
   */
  server?: { options?: ServerOptionsNeeded; exclusive?: boolean; tls?: true; capabilities?: Record<string, boolean> };
  steps: ServerStep[];
}

export type ClientOperation = 'ping' | 'put' | 'get' | 'cancel-get' | 'reconnect' | 'work';

export type ClientStep =
  | { accept: string; within?: number }
  | { expectRequest: string; params?: unknown; on?: string; within?: number }
  | { expectNotification: string; params?: unknown; on?: string; within?: number }
  | { respond: Record<string, unknown>; on?: string; delay?: number }
  | { notify: string; params?: unknown; on?: string }
  | { handshake: string; serverProof?: 'right' | 'wrong'; version?: string; capabilities?: Record<string, unknown>; within?: number }
  | { drop: string }
  | { expectClose: string; silent?: boolean; within?: number };

export interface ClientCase extends CaseCommon {
  kind: 'client';
  operation: ClientOperation;
  env?: Record<string, string>;
  script: ClientStep[];
  outcome: { outcome: 'ok' | 'error'; error?: string[]; value?: unknown };
}

/**
 * The folder holding case.schema.json, cases/ and client-cases/: the repository's
 * spec/conformance in a checkout, else the copy the published package carries (the build
 * copies it next to protocol.json).
 */
export function defaultCasesRoot(): string {
  // From dist/src/conformance: four levels up is the repository, three the package.
  const inCheckout = path.resolve(__dirname, '..', '..', '..', '..', 'spec', 'conformance');
  if (existsSync(path.join(inCheckout, 'case.schema.json'))) return inCheckout;
  return path.resolve(__dirname, '..', '..', '..', 'conformance');
}

/**
 * The certificate of a CA that signed nothing (its key was thrown away), for cases where the
 * kit must trust the wrong CA: from the cases folder, else from the kit's own copy.
 */
export function loadUnrelatedCa(root = defaultCasesRoot()): Buffer {
  const own = path.join(root, 'tls', 'unrelated-ca.pem');
  return readFileSync(existsSync(own) ? own : path.join(defaultCasesRoot(), 'tls', 'unrelated-ca.pem'));
}

/** A case file that is not valid: the file, and what is wrong, in one line. */
export class CaseFileError extends Error {}

function schemaValidator(root: string) {
  const schemaPath = path.join(root, 'case.schema.json');
  if (!existsSync(schemaPath)) throw new CaseFileError(`no case schema at ${schemaPath}: is ${root} a conformance folder?`);
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
}

function loadFolder(root: string, folder: string): { file: string; cases: Record<string, unknown>[] }[] {
  const dir = path.join(root, folder);
  if (!existsSync(dir)) return [];
  const validate = schemaValidator(root);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = `${folder}/${name}`;
      let content: unknown;
      try {
        content = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
      } catch (error) {
        throw new CaseFileError(`${file}: not valid JSON: ${(error as Error).message}`);
      }
      if (!validate(content)) {
        const first = validate.errors?.[0];
        throw new CaseFileError(`${file}: does not match case.schema.json: ${first?.instancePath || '/'} ${first?.message ?? ''}`);
      }
      return { file, cases: (content as { cases: Record<string, unknown>[] }).cases };
    });
}

function checkUniqueIds(cases: CaseCommon[]): void {
  const seen = new Map<string, string>();
  for (const c of cases) {
    const other = seen.get(c.id);
    if (other !== undefined) throw new CaseFileError(`${c.file}: case id ${c.id} is also used in ${other}`);
    seen.set(c.id, c.file);
  }
}

/** Every server case, in file order. */
export function loadServerCases(root = defaultCasesRoot()): ServerCase[] {
  const cases: ServerCase[] = [];
  for (const { file, cases: raw } of loadFolder(root, 'cases')) {
    for (const c of raw) {
      if ('operation' in c) throw new CaseFileError(`${file}: case ${String(c['id'])} is a client case; client cases live in client-cases/`);
      const loaded: ServerCase = { ...(c as unknown as Omit<ServerCase, 'kind' | 'file'>), kind: 'server', file };
      // The capabilities are known only from a handshake: nothing may be sent before it.
      if (loaded.server?.capabilities !== undefined && !('handshake' in loaded.steps[0]!)) {
        throw new CaseFileError(`${file}: case ${loaded.id} needs capabilities, so its first step must be a handshake (they are checked there)`);
      }
      cases.push(loaded);
    }
  }
  checkUniqueIds(cases);
  return cases;
}

/** Every client case, in file order. */
export function loadClientCases(root = defaultCasesRoot()): ClientCase[] {
  const cases: ClientCase[] = [];
  for (const { file, cases: raw } of loadFolder(root, 'client-cases')) {
    for (const c of raw) {
      if (!('operation' in c)) throw new CaseFileError(`${file}: case ${String(c['id'])} is a server case; server cases live in cases/`);
      cases.push({ ...(c as unknown as Omit<ClientCase, 'kind' | 'file'>), kind: 'client', file });
    }
  }
  checkUniqueIds(cases);
  return cases;
}

/** The methods a server case exercises: those its steps send, and those it says it covers. */
export function methodsCovered(c: ServerCase): Set<string> {
  const methods = new Set<string>(c.covers ?? []);
  for (const step of c.steps) {
    if ('request' in step) methods.add(step.request);
    if ('notify' in step) methods.add(step.notify);
    if ('handshake' in step) {
      methods.add('session/hello');
      methods.add('session/authenticate');
    }
    if ('send' in step && step.send !== null && typeof step.send === 'object' && typeof (step.send as { method?: unknown }).method === 'string') {
      methods.add((step.send as { method: string }).method);
    }
  }
  return methods;
}

/** Whether a case is selected by a --level threshold: `must` runs MUST only, `should` MUST and SHOULD, `may` all. */
export function levelSelected(level: Level, threshold: Level): boolean {
  return LEVELS.indexOf(level) <= LEVELS.indexOf(threshold);
}
