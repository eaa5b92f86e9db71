import { jsonTextBytes, type JsonText } from '../protocol/jsonText';

/**
 * What a task costs against a byte bound (a queue's maxBytes, the manager's maxQueuedBytes):
 * the length in bytes of its payload's JSON text in UTF-8, the text as the client sent it
 * without insignificant whitespace — the measure maxPayloadBytes already uses. A client can
 * compute it from what it sends, it does not depend on the server's language, and it is the
 * same after a restart (the store keeps the text). The manager's memory per task is larger (the
 * task record): the budget's default leaves room for that (see server/memoryBudget.ts).
 */
export function payloadBytes(payload: JsonText): number {
  return jsonTextBytes(payload);
}
