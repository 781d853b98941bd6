/**
 * SocketDriver's output timing, over a scripted byte stream (the `transport` option takes any
 * such stream): output is gathered into one write per event-loop turn, and output that waited
 * while a socket read's worth of input (EARLY_FLUSH_INPUT) was handled is written before the next
 * chunk is read, not at the turn's end. Under load one turn hands over many chunks; a receiver's
 * credit must not wait until it has handled them all.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import type { DriverStream } from '../../src/transport/byte-stream.js';
import { EARLY_FLUSH_INPUT, SocketDriver } from '../../src/transport/socket-driver.js';

/** A byte stream whose input the test emits and whose writes go into `log`, in order with events. */
class ScriptedStream extends EventEmitter implements DriverStream {
  writableNeedDrain = false;
  writableLength = 0;
  constructor(private readonly log: string[]) {
    super();
  }
  write(chunk: Uint8Array): boolean {
    this.log.push(`write ${chunk.length} bytes`);
    return true;
  }
  end(): void {}
  destroy(): void {}
  pause(): void {}
  resume(): void {}
  /** Hands `chunk` to the driver as a socket's 'data' event would. */
  input(chunk: Uint8Array): void {
    this.log.push(`input ${chunk.length} bytes`);
    this.emit('data', chunk);
  }
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A client's first bytes: its AMQP header (8 bytes), then its open frame. */
function clientOpening(): { header: Buffer; open: Buffer } {
  const client = new Connection({ role: 'client', containerId: 'c' });
  client.open();
  const out = client.takeOutput()!;
  return { header: out.subarray(0, 8), open: out.subarray(8) };
}

/** `n` bytes of empty AMQP frames (heartbeats): the engine reads them and says nothing. */
function heartbeats(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 8) b.set([0, 0, 0, 8, 2, 0, 0, 0], i);
  return b;
}

function serverDriver(log: string[]): { stream: ScriptedStream; driver: SocketDriver; engine: Connection } {
  const stream = new ScriptedStream(log);
  const engine = new Connection({ role: 'server', containerId: 's' });
  const driver = new SocketDriver(engine, stream, {
    onEvent: (e) => log.push(`event ${e.type}`),
    onClosed: () => log.push('closed'),
  });
  return { stream, driver, engine };
}

describe('SocketDriver output timing', () => {
  it('writes what waited while a socket read of input was handled, before it reads the next chunk', async () => {
    const log: string[] = [];
    const { stream } = serverDriver(log);
    const { header, open } = clientOpening();
    const read = heartbeats(EARLY_FLUSH_INPUT); // a socket read's worth
    // All in one turn, as from one busy socket read: the server's header answer waits through the
    // header's 8 bytes and the heartbeats' 64 KiB, then goes before the open frame is read.
    stream.input(header);
    stream.input(read);
    stream.input(open);
    expect(log).toEqual([
      'input 8 bytes',
      `input ${read.length} bytes`,
      `input ${open.length} bytes`,
      'write 8 bytes', // handed over before the engine reads the open frame
      'event connection-remote-open',
    ]);
    await nextTurn();
    expect(log).toHaveLength(5); // nothing was left for the end of the turn
  });

  it('writes early after exactly a socket read of input, and not a byte before', async () => {
    for (const short of [0, 8]) {
      const log: string[] = [];
      const { stream } = serverDriver(log);
      const { header, open } = clientOpening();
      stream.input(header);
      stream.input(heartbeats(EARLY_FLUSH_INPUT - 8 - short)); // 65,536 bytes in all, or 65,528
      stream.input(open);
      const early = log.indexOf('write 8 bytes') >= 0;
      expect(early).toBe(short === 0);
      await nextTurn();
      expect(log.filter((l) => l.startsWith('write'))).toEqual(['write 8 bytes']);
    }
  });

  it('counts only the input since the last write', async () => {
    const log: string[] = [];
    const { stream, driver, engine } = serverDriver(log);
    const { header, open } = clientOpening();
    stream.input(Buffer.concat([header, open]));
    await nextTurn(); // the header answer goes at the end of the turn
    expect(log.slice(2)).toEqual(['write 8 bytes']);
    // Next turn: our open waits while 65,504 bytes come in, then 8 more; with the first turn's
    // 34 bytes still counted (65,538) it would go before the last 8.
    engine.open();
    driver.schedule();
    stream.input(heartbeats(EARLY_FLUSH_INPUT - 32));
    stream.input(heartbeats(8));
    expect(log.filter((l) => l.startsWith('write'))).toHaveLength(1);
    await nextTurn();
    expect(log.filter((l) => l.startsWith('write'))).toHaveLength(2);
  });

  it('gathers the output of one turn into one write when little input comes in between', async () => {
    const log: string[] = [];
    const { stream, driver, engine } = serverDriver(log);
    const { header, open } = clientOpening();
    stream.input(Buffer.concat([header, open]));
    // The header answer, then our open: asked for three times, written once, at the end of the turn.
    engine.open();
    driver.schedule();
    driver.schedule();
    expect(log).toEqual([`input ${header.length + open.length} bytes`, 'event connection-remote-open']);
    await nextTurn();
    expect(log.slice(2)).toEqual([expect.stringMatching(/^write \d+ bytes$/)]);
    await nextTurn();
    expect(log).toHaveLength(3);
  });

  it("writes nothing early while the stream asks to wait for 'drain'", async () => {
    const log: string[] = [];
    const { stream } = serverDriver(log);
    const { header, open } = clientOpening();
    const read = heartbeats(EARLY_FLUSH_INPUT);
    stream.input(header);
    stream.input(read);
    stream.writableNeedDrain = true;
    stream.input(open);
    await nextTurn();
    expect(log).toEqual([
      'input 8 bytes',
      `input ${read.length} bytes`,
      `input ${open.length} bytes`,
      'event connection-remote-open',
    ]);
    stream.writableNeedDrain = false;
    stream.emit('drain');
    await nextTurn();
    expect(log.slice(4)).toEqual(['write 8 bytes']);
  });

  it('reads input that an early write brings back at once after the chunk that was waiting', () => {
    // A stream that answers a write with input inside write(): the open frame's second part comes
    // back while its first part waits to be read. The engine must read them in order.
    const log: string[] = [];
    const { stream } = serverDriver(log);
    const { header, open } = clientOpening();
    const [first, second] = [open.subarray(0, 10), open.subarray(10)];
    let answer: Buffer | undefined = second;
    stream.write = (chunk: Uint8Array): boolean => {
      log.push(`write ${chunk.length} bytes`);
      const a = answer;
      answer = undefined;
      if (a) stream.input(a);
      return true;
    };
    stream.input(header);
    stream.input(heartbeats(EARLY_FLUSH_INPUT));
    stream.input(first);
    expect(log.slice(2)).toEqual([
      'input 10 bytes',
      'write 8 bytes',
      `input ${second.length} bytes`,
      'event connection-remote-open', // not a framing error: the 10 bytes were read first
    ]);
  });
  it('reads the waiting chunk, and holds nothing after, when the early write throws', () => {
    // The hook the API layer gets after a write (it settles sends and calls back) throws once.
    const log: string[] = [];
    const stream = new ScriptedStream(log);
    let fail = true;
    new SocketDriver(new Connection({ role: 'server', containerId: 's' }), stream, {
      onEvent: (e) => log.push(`event ${e.type}`),
      onClosed: () => log.push('closed'),
      onFlushed: () => {
        if (!fail) return;
        fail = false;
        throw new Error('hook failed');
      },
    });
    const { header, open } = clientOpening();
    const [first, second] = [open.subarray(0, 10), open.subarray(10)];
    stream.input(header);
    stream.input(heartbeats(EARLY_FLUSH_INPUT));
    expect(() => stream.input(first)).toThrow('hook failed');
    stream.input(second);
    expect(log.slice(2)).toEqual([
      'input 10 bytes',
      'write 8 bytes',
      `input ${second.length} bytes`,
      'event connection-remote-open',
    ]);
  });
});
