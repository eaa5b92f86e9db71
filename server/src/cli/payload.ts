import { CliError, ExitCode } from './exitCodes';

/**
 * A payload given on the command line: JSON when it parses as JSON (`42`, `{"a":1}`,
 * `"text"`), otherwise the text itself, so `taskwire put tasks image_url_0` just works.
 */
export function parsePayloadArgument(text: string, mode: 'auto' | 'json' | 'string'): unknown {
  if (mode === 'string') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (mode === 'json') throw new CliError(`payload is not valid JSON: ${(error as Error).message}`, ExitCode.Usage);
    return text;
  }
}
