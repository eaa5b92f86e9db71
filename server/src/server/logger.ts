/** Structured log lines: a message and fields. Never given the authkey. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** One JSON object per line on the stream (for log collectors). */
export function jsonLogger(stream: NodeJS.WritableStream, verbose = false): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    stream.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
  };
  return { info: write('info'), warn: write('warn'), error: write('error'), debug: verbose ? write('debug') : () => {} };
}

/** Human-readable lines: `12:00:01 warn  message key=value`. */
export function textLogger(stream: NodeJS.WritableStream, verbose = false): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const time = new Date().toISOString().slice(11, 19);
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join('')
      : '';
    stream.write(`${time} ${level.padEnd(5)} ${message}${extra}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error'), debug: verbose ? write('debug') : () => {} };
}
