// Command lines given to the kit (--server-cmd, --cmd) are split into arguments here, without
// a shell, and their placeholders expanded after splitting, so a path with spaces stays one
// argument. The scheme (documented in spec/conformance/README.md):
//   {name}        the value of `name` (port, host, authkeyFile, or a server option);
//                 a token that expands to nothing is dropped
//   {name?TEXT}   TEXT, with every `$` replaced by the value, when `name` has a value, else
//                 nothing; a token that is only this is split on the spaces of TEXT into
//                 arguments (a value with spaces, such as a path, stays one argument)
import * as path from 'node:path';
import type { ServerOptionsNeeded } from './cases';

/** A command line that cannot be used: unbalanced quotes, an unknown placeholder. */
export class CommandTemplateError extends Error {}

/**
 * Splits a command line into arguments: spaces separate, '...' and "..." group, \ escapes,
 * and a placeholder `{...}` is never split (its conditional text may hold spaces).
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inToken = false;
  let braces = 0;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inToken = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      inToken = true;
    } else if (c === '{' || (c === '}' && braces > 0)) {
      braces += c === '{' ? 1 : -1;
      current += c;
      inToken = true;
    } else if (/\s/.test(c) && braces === 0) {
      if (inToken) args.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (quote !== undefined) throw new CommandTemplateError(`unbalanced ${quote} in command: ${line}`);
  if (braces > 0) throw new CommandTemplateError(`unbalanced { in command: ${line}`);
  if (inToken) args.push(current);
  return args;
}

const PLACEHOLDER = /\{([A-Za-z]+)(\?([^{}]*))?\}/g;
const WHOLE_CONDITIONAL = /^\{([A-Za-z]+)\?([^{}]*)\}$/;

/** The placeholders the kit knows: where the server listens and the options a case may need. */
export const PLACEHOLDER_NAMES: readonly string[] = [
  'host',
  'port',
  'authkeyFile',
  'ttr',
  'maxAttempts',
  'maxFrameBytes',
  'maxPayloadBytes',
  'maxBatch',
  'maxSubscriptions',
  'handshakeTimeout',
  'maxConnections',
  'maxHandshakesPerAddress',
  'maxQueuedBytes',
  'noAutoCreate',
  'tlsCert',
  'tlsKey',
];

/** Placeholders that are not server options of a case but of the whole run. */
const RUN_PLACEHOLDERS = ['host', 'port', 'authkeyFile', 'tlsCert', 'tlsKey'];

/** The server options a case may need (every placeholder but where to listen, the key and TLS). */
export const CASE_OPTION_NAMES: readonly string[] = PLACEHOLDER_NAMES.filter((name) => !RUN_PLACEHOLDERS.includes(name));

/**
 * The server options of the placeholders and TLS, as the reference server's `taskwire serve`
 * flags: `{ttr?--ttr $} ... {noAutoCreate?--no-auto-create} {tlsCert?--tls-cert $} {tlsKey?--tls-key $}`.
 */
export const REFERENCE_OPTION_FLAGS = [...CASE_OPTION_NAMES, 'tlsCert', 'tlsKey']
  .map((name) => {
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return name === 'noAutoCreate' ? `{noAutoCreate?${flag}}` : `{${name}?${flag} $}`;
  })
  .join(' ');

/** The template that starts this installation's own server (`taskwire serve`) with every option, and `extra` options (e.g. a --store). */
export function referenceServerCommand(extra = ''): string {
  // dist/src/conformance → the package's bin/taskwire.js
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'taskwire.js');
  return `"${process.execPath}" "${bin}" serve --port {port} --authkey-file {authkeyFile} ${REFERENCE_OPTION_FLAGS}${extra === '' ? '' : ` ${extra}`}`;
}

/** Placeholder names the template uses. */
export function placeholdersIn(template: string): Set<string> {
  return new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!));
}

/** Checks that every placeholder of the template is one the kit knows. */
export function checkTemplate(template: string): void {
  splitCommandLine(template);
  for (const name of placeholdersIn(template)) {
    if (!PLACEHOLDER_NAMES.includes(name)) throw new CommandTemplateError(`unknown placeholder {${name}} in command; known: ${PLACEHOLDER_NAMES.map((n) => `{${n}}`).join(' ')}`);
  }
}

/** The arguments of `template` with its placeholders filled from `values` (absent = no value). */
export function expandCommand(template: string, values: Readonly<Record<string, string | number | boolean | undefined>>): string[] {
  checkTemplate(template);
  const text = (name: string) => {
    const value = values[name];
    return value === undefined || value === false ? undefined : value === true ? 'true' : String(value);
  };
  const args: string[] = [];
  for (const token of splitCommandLine(template)) {
    const whole = WHOLE_CONDITIONAL.exec(token);
    if (whole) {
      const value = text(whole[1]!);
      if (value !== undefined)
        args.push(
          ...whole[2]!
            .split(/\s+/)
            .filter((part) => part !== '')
            .map((part) => part.replace(/\$/g, () => value)),
        );
      continue;
    }
    const expanded = token.replace(PLACEHOLDER, (_, name: string, conditional: string | undefined, body: string | undefined) => {
      const value = text(name);
      if (conditional !== undefined) return value === undefined ? '' : body!.replace(/\$/g, () => value);
      return value ?? '';
    });
    if (expanded !== '' || token.search(PLACEHOLDER) === -1) args.push(expanded);
  }
  return args;
}

/** The certificate and key a server started for a TLS run serves ({tlsCert}, {tlsKey}). */
export interface ServerTlsFiles {
  certFile: string;
  keyFile: string;
}

/** Values for a server command: the connection placeholders, TLS files and a case's options. */
export function serverCommandValues(host: string, port: number, authkeyFile: string, options: ServerOptionsNeeded = {}, tls?: ServerTlsFiles): Record<string, string | number | boolean | undefined> {
  return { host, port, authkeyFile, ...(tls ? { tlsCert: tls.certFile, tlsKey: tls.keyFile } : {}), ...options };
}
