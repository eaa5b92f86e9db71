// The codec's code run over messages a CPython proxy sends, once, before the listener takes
// clients. A manager serves for hours, but its first few thousand requests run the pickle
// reader and writer in V8's interpreter and baseline tier while the optimizing compiler works
// on another thread; on a small, busy machine that makes the first seconds of a pipeline the
// slowest. Run here, that work is done by the time a client connects. It touches nothing but
// the codec: no queue, no connection, no counter.
import { encodeMessage, MessageDecoder } from './framing';
import { fromJsonText, toJsonText } from './jsonMapping';
import { readPickle } from './pickleReader';
import { writePickleMessage } from './pickleWriter';
import { PyTuple, QUEUE_EMPTY, type PyValue } from './pyValue';

/**
 * Requests, framed, as CPython 3.8-3.13 pickles them (`ForkingPickler.dumps`, protocol 4, with FRAME
 * and MEMOIZE): put(str), get(True, timeout=1), get(timeout=120), qsize(), and a put of a
 * longer str.
 */
export const WARM_UP_REQUESTS = [
  '8004953700000000000000288c146765745f7461736b5f71756575653a7461736b73948c03707574948c0f696d6167655f75726c5f31323334359485947d9474942e',
  '8004953300000000000000288c146765745f7461736b5f71756575653a7461736b73948c03676574948885947d948c0774696d656f7574944b017374942e',
  '8004953500000000000000288c186765745f726573756c745f71756575653a726573756c7473948c0367657494297d948c0774696d656f7574944b787374942e',
  '8004952600000000000000288c146765745f7461736b5f71756575653a7461736b73948c057173697a6594297d9474942e',
  '8004954800000000000000288c186765745f726573756c745f71756575653a726573756c7473948c03707574948c1c696d6167655f75726c5f3132333435202d2d2d3e20737563636573739485947d9474942e',
].map((hex) => Buffer.concat(encodeMessage(Buffer.from(hex, 'hex'))));

const LIMITS = { maxBytes: 1 << 20, maxDepth: 64 };

/** Rounds of the five requests: enough for the optimizing compiler to take the hot functions. */
const ROUNDS = 500;

/** Reads, maps and answers the sample requests ROUNDS times; returns the milliseconds it took. */
export function warmUpCodec(rounds = ROUNDS): number {
  const started = performance.now();
  const decoder = new MessageDecoder(1 << 20);
  for (let round = 0; round < rounds; round++) {
    for (const framed of WARM_UP_REQUESTS) {
      for (const message of decoder.push(framed)) {
        const request = readPickle(message);
        const args = request instanceof PyTuple ? request.items[2] : undefined;
        const item: PyValue = args instanceof PyTuple && typeof args.items[0] === 'string' ? args.items[0] : `image_url_${round}`;
        const value = fromJsonText(toJsonText(item, LIMITS));
        writePickleMessage(new PyTuple(['#RETURN', value]));
        writePickleMessage(new PyTuple(['#RETURN', null]));
        writePickleMessage(new PyTuple(['#RETURN', BigInt(round)]));
      }
    }
  }
  writePickleMessage(new PyTuple(['#ERROR', QUEUE_EMPTY]));
  return performance.now() - started;
}
