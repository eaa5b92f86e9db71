import * as z from 'zod';
import { PROTOCOL_SPEC } from '../protocol/specDocument';

/**
 * Zod schemas of the protocol's types, read from spec/protocol.json ($defs) at run time rather
 * than written again by hand: a tool's input that is a protocol type (a queue name, a task spec,
 * a schedule's cron expression) accepts exactly what the manager accepts, and a field added to
 * the spec reaches the tools with no change here.
 */
export function protocolSchema(def: string): z.ZodType {
  if (!(def in PROTOCOL_SPEC.$defs)) throw new Error(`spec/protocol.json has no $defs/${def}`);
  // fromJSONSchema resolves the $refs of the definition against the $defs beside it.
  return z.fromJSONSchema({ $defs: PROTOCOL_SPEC.$defs, $ref: `#/$defs/${def}` } as never);
}

/** One property of a $defs object type (e.g. ScheduleSetParams.every), with its constraints and description. */
export function protocolProperty(def: string, property: string): z.ZodType {
  const schema = PROTOCOL_SPEC.$defs[def] as { properties?: Record<string, unknown> } | undefined;
  const member = schema?.properties?.[property];
  if (member === undefined) throw new Error(`spec/protocol.json has no $defs/${def}.properties.${property}`);
  return z.fromJSONSchema({ $defs: PROTOCOL_SPEC.$defs, ...(member as object) } as never);
}
