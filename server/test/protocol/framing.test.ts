import { strict as assert } from 'node:assert';
import { detectFraming, encodeFrame, FrameDecoder, MAX_HEADER_BYTES, type FrameError, type Framing } from '../../src/protocol/framing';

type Event = { frame: string; bytes: number } | { error: FrameError['kind']; fatal: boolean };

/** A decoder that records what it delivers, in order. */
function recorder(maxFrameBytes = 1024, framing?: Framing) {
  const events: Event[] = [];
  const decoder = new FrameDecoder({
    maxFrameBytes,
    ...(framing === undefined ? {} : { framing }),
    onFrame: (frame, bytes) => events.push({ frame, bytes }),
    onError: (error) => events.push({ error: error.kind, fatal: error.fatal }),
  });
  const frames = () => events.flatMap((e) => ('frame' in e ? [e.frame] : []));
  const errors = () => events.flatMap((e) => ('error' in e ? [e] : []));
  return { decoder, events, frames, errors };
}

function pushBytewise(decoder: FrameDecoder, data: Buffer): void {
  for (let i = 0; i < data.length; i++) decoder.push(data.subarray(i, i + 1));
}

function contentLengthFrame(json: string, headerName = 'Content-Length', extraHeaders = ''): Buffer {
  return Buffer.from(`${extraHeaders}${headerName}: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
}

const HELLO = '{"jsonrpc":"2.0","id":1,"method":"session/hello","params":{"nonce":"é✓"}}';

describe('protocol/framing', () => {
  describe('detectFraming', () => {
    it('reads NDJSON from { and [, headers from C and c', () => {
      assert.equal(detectFraming('{'.charCodeAt(0)), 'ndjson');
      assert.equal(detectFraming('['.charCodeAt(0)), 'ndjson');
      assert.equal(detectFraming('C'.charCodeAt(0)), 'content-length');
      assert.equal(detectFraming('c'.charCodeAt(0)), 'content-length');
    });

    it('knows nothing else', () => {
      for (const c of ['G', 'x', '"', '1', ' ', '\n']) assert.equal(detectFraming(c.charCodeAt(0)), undefined, c);
      assert.equal(detectFraming(0x16), undefined); // a TLS ClientHello sent to a plain port
    });
  });

  describe('encodeFrame', () => {
    it('ends an NDJSON frame with a newline', () => {
      assert.equal(encodeFrame(HELLO, 'ndjson').toString('utf8'), HELLO + '\n');
    });

    it('counts Content-Length in bytes, not characters', () => {
      const frame = encodeFrame(HELLO, 'content-length');
      const bytes = Buffer.byteLength(HELLO);
      assert.ok(bytes > HELLO.length);
      assert.equal(frame.toString('utf8'), `Content-Length: ${bytes}\r\n\r\n${HELLO}`);
    });

    it('round-trips through the decoder in both framings', () => {
      for (const framing of ['ndjson', 'content-length'] as const) {
        const { decoder, frames, errors } = recorder();
        decoder.push(Buffer.concat([encodeFrame(HELLO, framing), encodeFrame('{}', framing)]));
        assert.deepEqual(frames(), [HELLO, '{}'], framing);
        assert.deepEqual(errors(), []);
        assert.equal(decoder.framing, framing);
      }
    });
  });

  describe('framing detection', () => {
    it('skips leading whitespace, even across chunks', () => {
      const { decoder, frames } = recorder();
      decoder.push(Buffer.from(' \r\n'));
      assert.equal(decoder.framing, undefined);
      decoder.push(Buffer.from('\t{"a":1}\n'));
      assert.equal(decoder.framing, 'ndjson');
      assert.deepEqual(frames(), ['{"a":1}']);
    });

    it('passes a batch through as a frame for the JSON-RPC layer to refuse', () => {
      const { decoder, frames } = recorder();
      decoder.push(Buffer.from('[{"jsonrpc":"2.0"}]\n'));
      assert.deepEqual(frames(), ['[{"jsonrpc":"2.0"}]']);
    });

    it('fails fatally on a bad first byte and ignores the rest', () => {
      const { decoder, events } = recorder();
      decoder.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      decoder.push(Buffer.from('{"a":1}\n'));
      assert.deepEqual(events, [{ error: 'bad-framing', fatal: true }]);
      assert.equal(decoder.closed, true);
    });

    it('uses a configured framing without detection', () => {
      const { decoder, frames } = recorder(1024, 'ndjson');
      decoder.push(Buffer.from('not json\n'));
      assert.deepEqual(frames(), ['not json']);
    });
  });

  describe('NDJSON', () => {
    it('delivers many frames from one chunk', () => {
      const { decoder, frames } = recorder();
      const lines = Array.from({ length: 500 }, (_, i) => `{"id":${i}}`);
      decoder.push(Buffer.from(lines.join('\n') + '\n'));
      assert.deepEqual(frames(), lines);
      assert.equal(decoder.bufferedBytes, 0);
    });

    it('delivers a frame pushed byte by byte, multi-byte characters split', () => {
      const { decoder, events } = recorder();
      pushBytewise(decoder, Buffer.from(HELLO + '\n' + HELLO + '\n'));
      const bytes = Buffer.byteLength(HELLO);
      assert.deepEqual(events, [
        { frame: HELLO, bytes },
        { frame: HELLO, bytes },
      ]);
    });

    it('joins a frame split across chunks with other frames around it', () => {
      const { decoder, frames } = recorder();
      decoder.push(Buffer.from('{"a":1}\n{"b":'));
      decoder.push(Buffer.from('2'));
      decoder.push(Buffer.from('}\n{"c":3}\n{"d"'));
      decoder.push(Buffer.from(':4}\n'));
      assert.deepEqual(frames(), ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
    });

    it('holds back a line without its newline', () => {
      const { decoder, frames } = recorder();
      decoder.push(Buffer.from('{"a":1}'));
      assert.deepEqual(frames(), []);
      assert.equal(decoder.bufferedBytes, 7);
    });

    it('strips CRLF endings, also when split between chunks', () => {
      const { decoder, frames } = recorder();
      decoder.push(Buffer.from('{"a":1}\r\n{"b":2}\r'));
      decoder.push(Buffer.from('\n'));
      assert.deepEqual(frames(), ['{"a":1}', '{"b":2}']);
    });

    it('skips empty and whitespace-only lines', () => {
      const { decoder, events } = recorder();
      decoder.push(Buffer.from('{"a":1}\n\n   \n\t\r\n\r\n{"b":2}\n'));
      assert.deepEqual(events, [
        { frame: '{"a":1}', bytes: 7 },
        { frame: '{"b":2}', bytes: 7 },
      ]);
    });

    it('accepts a frame of exactly the limit, with LF or CRLF', () => {
      const line = '{"p":"' + 'x'.repeat(100 - 8) + '"}';
      assert.equal(line.length, 100);
      for (const ending of ['\n', '\r\n']) {
        const whole = recorder(100);
        whole.decoder.push(Buffer.from(line + ending));
        assert.deepEqual(whole.events, [{ frame: line, bytes: 100 }], JSON.stringify(ending));
        const split = recorder(100);
        split.decoder.push(Buffer.from(line + ending.slice(0, -1)));
        split.decoder.push(Buffer.from('\n'));
        assert.deepEqual(split.events, [{ frame: line, bytes: 100 }], JSON.stringify(ending));
      }
    });

    it('rejects a complete line one byte over the limit', () => {
      const { decoder, events } = recorder(100);
      decoder.push(Buffer.from('{"p":"' + 'x'.repeat(93) + '"}\n{"a":1}\n'));
      assert.deepEqual(events, [{ error: 'too-large', fatal: true }]);
    });

    it('detects an oversized unterminated line before its newline arrives', () => {
      const { decoder, events } = recorder(1000);
      decoder.push(Buffer.from('{"a":1}\n{"p":"'));
      for (let i = 0; i < 200 && !decoder.closed; i++) decoder.push(Buffer.from('xxxxxxxxxx'));
      assert.deepEqual(events, [
        { frame: '{"a":1}', bytes: 7 },
        { error: 'too-large', fatal: true },
      ]);
      // Found within one chunk of the limit, never holding more than the limit (+ a possible \r).
      assert.equal(decoder.bufferedBytes, 0);
      decoder.push(Buffer.from('"}\n{"b":2}\n'));
      assert.equal(events.length, 2);
    });

    it('detects an oversized line inside a single chunk', () => {
      const { decoder, events } = recorder(1000);
      decoder.push(Buffer.from('{"p":"' + 'x'.repeat(5000)));
      assert.deepEqual(events, [{ error: 'too-large', fatal: true }]);
    });

    it('never holds more than the limit while a long line trickles in', () => {
      const { decoder } = recorder(64);
      let most = 0;
      for (let i = 0; i < 100 && !decoder.closed; i++) {
        decoder.push(Buffer.from('x'));
        most = Math.max(most, decoder.bufferedBytes);
      }
      assert.equal(decoder.closed, true);
      assert.ok(most <= 65, `held ${most} bytes`);
    });

    it('reports invalid UTF-8 without giving up, and reads the next line', () => {
      const { decoder, events } = recorder();
      decoder.push(
        Buffer.concat([
          Buffer.from('{"a":1}\n{"bad":"'),
          Buffer.from([0xc3, 0x28]), // a lead byte followed by a non-continuation byte
          Buffer.from('"}\n{"b":2}\n'),
        ]),
      );
      decoder.push(Buffer.from([0x7b, 0xff, 0x7d, 0x0a, 0x7b, 0x7d, 0x0a])); // {\xff}\n{}\n
      assert.deepEqual(events, [
        { frame: '{"a":1}', bytes: 7 },
        { error: 'invalid-utf8', fatal: false },
        { frame: '{"b":2}', bytes: 7 },
        { error: 'invalid-utf8', fatal: false },
        { frame: '{}', bytes: 2 },
      ]);
      assert.equal(decoder.closed, false);
    });

    it('reports a truncated multi-byte character split over chunks as invalid', () => {
      const { decoder, events } = recorder();
      decoder.push(Buffer.from([0x7b, 0x22, 0xe2, 0x9c])); // {"✓ missing its last byte
      decoder.push(Buffer.from('"}\n{}\n'));
      assert.deepEqual(events, [
        { error: 'invalid-utf8', fatal: false },
        { frame: '{}', bytes: 2 },
      ]);
    });

    it('stops delivering the rest of a chunk after close()', () => {
      const events: string[] = [];
      const decoder = new FrameDecoder({
        maxFrameBytes: 1024,
        onFrame: (frame) => {
          events.push(frame);
          decoder.close();
        },
        onError: () => events.push('error'),
      });
      decoder.push(Buffer.from('{"a":1}\n{"b":2}\n'));
      decoder.push(Buffer.from('{"c":3}\n'));
      assert.deepEqual(events, ['{"a":1}']);
    });

    it('gathers a large frame from many chunks intact', () => {
      const big = JSON.stringify({ payload: 'é'.repeat(300_000) });
      const { decoder, frames } = recorder(1_000_000);
      const data = Buffer.from(big + '\n');
      for (let i = 0; i < data.length; i += 1000) decoder.push(data.subarray(i, i + 1000));
      assert.deepEqual(frames(), [big]);
    });
  });

  describe('Content-Length', () => {
    it('reads a frame with other headers in any case', () => {
      const { decoder, events } = recorder();
      decoder.push(contentLengthFrame(HELLO, 'Content-Length', 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n'));
      decoder.push(Buffer.from('content-length:2\r\nX-Other: 1\r\n\r\n{}'));
      decoder.push(Buffer.from('CONTENT-LENGTH:   7  \r\n\r\n{"a":1}'));
      assert.deepEqual(events, [
        { frame: HELLO, bytes: Buffer.byteLength(HELLO) },
        { frame: '{}', bytes: 2 },
        { frame: '{"a":1}', bytes: 7 },
      ]);
    });

    it('reads a lower-case header from the first byte', () => {
      const { decoder, frames } = recorder();
      decoder.push(contentLengthFrame('{"a":1}', 'content-length'));
      assert.equal(decoder.framing, 'content-length');
      assert.deepEqual(frames(), ['{"a":1}']);
    });

    it('reads two messages from one chunk', () => {
      const { decoder, frames } = recorder();
      decoder.push(Buffer.concat([contentLengthFrame(HELLO), contentLengthFrame('{"b":2}')]));
      assert.deepEqual(frames(), [HELLO, '{"b":2}']);
    });

    it('reads a body split across chunks, and headers split anywhere', () => {
      const data = Buffer.concat([contentLengthFrame(HELLO), contentLengthFrame('{"b":2}')]);
      for (let cut = 1; cut < data.length; cut++) {
        const { decoder, frames, errors } = recorder();
        decoder.push(data.subarray(0, cut));
        decoder.push(data.subarray(cut));
        assert.deepEqual(errors(), [], `cut at ${cut}`);
        assert.deepEqual(frames(), [HELLO, '{"b":2}'], `cut at ${cut}`);
      }
      const { decoder, frames } = recorder();
      pushBytewise(decoder, data);
      assert.deepEqual(frames(), [HELLO, '{"b":2}']);
    });

    it('delivers an empty body as an empty frame (a parse error for the JSON-RPC layer)', () => {
      const { decoder, events } = recorder(1024, 'content-length');
      decoder.push(Buffer.from('Content-Length: 0\r\n\r\nContent-Length: 2\r\n\r\n{}'));
      assert.deepEqual(events, [
        { frame: '', bytes: 0 },
        { frame: '{}', bytes: 2 },
      ]);
    });

    it('fails on a missing Content-Length', () => {
      const { decoder, events } = recorder();
      decoder.push(Buffer.from('Content-Type: application/json\r\n\r\n{}'));
      assert.deepEqual(events, [{ error: 'bad-header', fatal: true }]);
    });

    it('fails on an invalid Content-Length', () => {
      for (const value of ['-1', 'abc', '1.5', '', '0x10', '12 34']) {
        const { decoder, events } = recorder();
        decoder.push(Buffer.from(`Content-Length: ${value}\r\n\r\n{}`));
        assert.deepEqual(events, [{ error: 'bad-header', fatal: true }], value);
      }
    });

    it('fails on a header line without a colon', () => {
      const { decoder, events } = recorder();
      decoder.push(Buffer.from('Content-Length: 2\r\nnonsense\r\n\r\n{}'));
      assert.deepEqual(events, [{ error: 'bad-header', fatal: true }]);
    });

    it('fails on a header block over 8 KiB, however it arrives', () => {
      const long = Buffer.from(`Content-Length: 2\r\nX-Padding: ${'p'.repeat(MAX_HEADER_BYTES)}\r\n\r\n{}`);
      const whole = recorder();
      whole.decoder.push(long);
      assert.deepEqual(whole.events, [{ error: 'bad-header', fatal: true }]);
      const trickled = recorder();
      for (let i = 0; i < long.length; i += 100) trickled.decoder.push(long.subarray(i, i + 100));
      assert.deepEqual(trickled.events, [{ error: 'bad-header', fatal: true }]);
      // Never terminated at all: still found out at 8 KiB.
      const endless = recorder();
      endless.decoder.push(Buffer.from('Content-Length: 2\r\n'));
      for (let i = 0; i < 100 && !endless.decoder.closed; i++) endless.decoder.push(Buffer.from('X'.repeat(100)));
      assert.deepEqual(endless.events, [{ error: 'bad-header', fatal: true }]);
    });

    it('accepts a header block of exactly 8 KiB', () => {
      const start = 'Content-Length: 2\r\nX-Padding: ';
      const padding = 'p'.repeat(MAX_HEADER_BYTES - start.length - 4);
      const data = Buffer.from(`${start}${padding}\r\n\r\n{}`);
      assert.equal(data.length - 2, MAX_HEADER_BYTES);
      const { decoder, frames, errors } = recorder();
      decoder.push(data);
      assert.deepEqual(errors(), []);
      assert.deepEqual(frames(), ['{}']);
      const split = recorder();
      pushBytewise(split.decoder, data);
      assert.deepEqual(split.frames(), ['{}']);
    });

    it('fails on a body over the limit before reading it', () => {
      const { decoder, events } = recorder(100);
      decoder.push(Buffer.from('Content-Length: 101\r\n\r\n'));
      assert.deepEqual(events, [{ error: 'too-large', fatal: true }]);
      assert.equal(decoder.bufferedBytes, 0);
    });

    it('accepts a body of exactly the limit', () => {
      const body = '{"p":"' + 'x'.repeat(92) + '"}';
      const { decoder, frames } = recorder(100);
      decoder.push(contentLengthFrame(body));
      assert.deepEqual(frames(), [body]);
    });

    it('treats invalid UTF-8 in a body as fatal', () => {
      const { decoder, events } = recorder();
      decoder.push(Buffer.concat([Buffer.from('Content-Length: 4\r\n\r\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]));
      decoder.push(contentLengthFrame('{}'));
      assert.deepEqual(events, [{ error: 'invalid-utf8', fatal: true }]);
    });
  });

  describe('suspend, resume, inFrame and setFrameLimit', () => {
    it('stops delivering in the middle of a chunk and delivers the rest, in order, on resume (NDJSON)', () => {
      const events: string[] = [];
      const decoder: FrameDecoder = new FrameDecoder({
        maxFrameBytes: 1024,
        onFrame: (frame) => {
          events.push(frame);
          if (frame === '{"n":2}') decoder.suspend();
        },
        onError: () => assert.fail('no error expected'),
      });
      decoder.push(Buffer.from('{"n":1}\n{"n":2}\n{"n":3}\n{"n":'));
      assert.deepEqual(events, ['{"n":1}', '{"n":2}']);
      decoder.push(Buffer.from('4}\n'));
      assert.equal(decoder.deferredBytes, '{"n":3}\n{"n":4}\n'.length);
      assert.deepEqual(events, ['{"n":1}', '{"n":2}']);
      decoder.resume();
      assert.deepEqual(events, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
      assert.equal(decoder.deferredBytes, 0);
    });

    it('keeps no reference to a pushed chunk: a reader may reuse its buffer (net onread)', () => {
      const events: string[] = [];
      const decoder: FrameDecoder = new FrameDecoder({
        maxFrameBytes: 1024,
        onFrame: (frame) => {
          events.push(frame);
          if (frame === '{"n":1}' || frame === '{"n":3}') decoder.suspend();
        },
        onError: () => assert.fail('no error expected'),
      });
      const reused = Buffer.alloc(64);
      const read = (text: string) => decoder.push(reused.subarray(0, reused.write(text)));
      read('{"n":1}\n{"n":2}\n{"n":');
      read('3}\n{"n":4}\n');
      reused.fill('x');
      decoder.resume(); // delivers 2 and 3, suspends again inside its own copy
      assert.deepEqual(events, ['{"n":1}', '{"n":2}', '{"n":3}']);
      read('{"n":5}\n');
      reused.fill('y');
      decoder.resume();
      assert.deepEqual(events, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}']);
      // A held partial line is a copy too.
      read('{"n"');
      reused.fill('z');
      read(':6}\n');
      assert.deepEqual(events.at(-1), '{"n":6}');
    });

    it('suspends between Content-Length frames and when a held line completes', () => {
      const events: string[] = [];
      const decoder: FrameDecoder = new FrameDecoder({
        maxFrameBytes: 1024,
        onFrame: (frame) => {
          events.push(frame);
          decoder.suspend();
        },
        onError: () => assert.fail('no error expected'),
      });
      decoder.push(Buffer.concat([contentLengthFrame('{"a":1}'), contentLengthFrame('{"b":2}'), contentLengthFrame('{"c":3}')]));
      assert.deepEqual(events, ['{"a":1}']);
      decoder.resume();
      assert.deepEqual(events, ['{"a":1}', '{"b":2}']);
      decoder.resume();
      decoder.resume();
      assert.deepEqual(events, ['{"a":1}', '{"b":2}', '{"c":3}']);

      const lines: string[] = [];
      const ndjson: FrameDecoder = new FrameDecoder({ maxFrameBytes: 1024, onFrame: (f) => (lines.push(f), ndjson.suspend()), onError: () => {} });
      ndjson.push(Buffer.from('{"x"'));
      ndjson.push(Buffer.from(':1}\n{"y":2}\n'));
      assert.deepEqual(lines, ['{"x":1}']);
      ndjson.resume();
      assert.deepEqual(lines, ['{"x":1}', '{"y":2}']);
    });

    it('tells whether a frame has begun: a partial line, a header, an announced body; not whitespace', () => {
      const { decoder } = recorder();
      assert.equal(decoder.inFrame, false);
      decoder.push(Buffer.from('{"a":1}\n  '));
      assert.equal(decoder.inFrame, false, 'whitespace after a line is no frame');
      decoder.push(Buffer.from('{"b"'));
      assert.equal(decoder.inFrame, true);
      decoder.push(Buffer.from(':2}\n'));
      assert.equal(decoder.inFrame, false);
      const cl = recorder(1024, 'content-length');
      cl.decoder.push(Buffer.from('Content-Len'));
      assert.equal(cl.decoder.inFrame, true);
      cl.decoder.push(Buffer.from('gth: 7\r\n\r\n'));
      assert.equal(cl.decoder.inFrame, true, 'a body announced and not arrived');
      cl.decoder.push(Buffer.from('{"c":3}'));
      assert.equal(cl.decoder.inFrame, false);
      assert.deepEqual(cl.frames(), ['{"c":3}']);
    });

    it('applies a new frame limit to the frames that follow', () => {
      const { decoder, frames, errors } = recorder(10);
      assert.equal(decoder.frameLimit, 10);
      decoder.setFrameLimit(100);
      decoder.push(Buffer.from(`{"p":"${'x'.repeat(50)}"}\n`));
      assert.equal(frames().length, 1);
      decoder.setFrameLimit(10);
      decoder.push(Buffer.from(`{"p":"${'x'.repeat(50)}"}\n`));
      assert.deepEqual(errors(), [{ error: 'too-large', fatal: true }]);
      assert.throws(() => decoder.setFrameLimit(0), RangeError);
    });
  });
});
