/**
 * A payload typed or selected by the user: JSON when it parses as JSON (`42`, `{"a":1}`,
 * `"text"`), otherwise the text itself — the rule of `taskwire put`.
 */
export function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** One payload per non-empty line (NDJSON, or plain text lines), like `taskwire put --file`. */
export function payloadLines(text: string): unknown[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map(parsePayload);
}
