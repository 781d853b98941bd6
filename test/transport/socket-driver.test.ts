/**
 * SocketDriver's output timing, over a scripted byte stream (the `transport` option takes any
 * such stream): output is gathered into one write per event-loop turn, and output that waited
 * while a socket read's worth of input (EARLY_FLUSH_INPUT) was handled is written before the next
 * input chunk is read. Under load one turn hands over many chunks; a receiver's credit must not
 * wait until it has handled them all.
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
    // Empty frames (heartbeats), a socket read's worth: the engine reads them and says nothing.
    const heartbeats = Buffer.alloc(EARLY_FLUSH_INPUT);
    for (let i = 0; i < heartbeats.length; i += 8) heartbeats.set([0, 0, 0, 8, 2, 0, 0, 0], i);
    // All in one turn, as from one busy socket read: the server's header answer waits through the
    // header's 8 bytes and the heartbeats' 64 KiB, then goes before the open frame is read.
    stream.input(header);
    stream.input(heartbeats);
    stream.input(open);
    expect(log).toEqual([
      'input 8 bytes',
      `input ${heartbeats.length} bytes`, // only 8 bytes had come in since the answer was due
      `input ${open.length} bytes`,
      'write 8 bytes', // handed over before the engine reads the open frame
      'event connection-remote-open',
    ]);
    await nextTurn();
    expect(log).toHaveLength(5); // nothing was left for the end of the turn
  });

  it('keeps output for the end of the turn while less than a socket read came in meanwhile', async () => {
    const log: string[] = [];
    const { stream } = serverDriver(log);
    const { header, open } = clientOpening();
    const small = Buffer.alloc(EARLY_FLUSH_INPUT - 16);
    for (let i = 0; i < small.length; i += 8) small.set([0, 0, 0, 8, 2, 0, 0, 0], i);
    stream.input(header);
    stream.input(small); // 8 + 65,520 bytes: 8 short of a read's worth when the open comes
    stream.input(open);
    expect(log).toEqual([
      'input 8 bytes',
      `input ${small.length} bytes`,
      `input ${open.length} bytes`,
      'event connection-remote-open',
    ]);
    await nextTurn();
    expect(log.slice(4)).toEqual(['write 8 bytes']);
  });

  it('gathers the output of one turn into one write when no input comes in between', async () => {
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
  it("writes nothing before the next chunk while the stream asks to wait for 'drain'", async () => {
    const log: string[] = [];
    const { stream } = serverDriver(log);
    const { header, open } = clientOpening();
    const heartbeats = Buffer.alloc(EARLY_FLUSH_INPUT);
    for (let i = 0; i < heartbeats.length; i += 8) heartbeats.set([0, 0, 0, 8, 2, 0, 0, 0], i);
    stream.input(header);
    stream.input(heartbeats);
    stream.writableNeedDrain = true;
    stream.input(open);
    await nextTurn();
    expect(log).toEqual([
      'input 8 bytes',
      `input ${heartbeats.length} bytes`,
      `input ${open.length} bytes`,
      'event connection-remote-open',
    ]);
    stream.writableNeedDrain = false;
    stream.emit('drain');
    await nextTurn();
    expect(log.slice(4)).toEqual(['write 8 bytes']);
  });
});
