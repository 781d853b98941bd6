/**
 * A byte stream over a WebSocket whose handshake is done: writes go out as binary messages (masked
 * by a client, never by a server), incoming binary messages become bytes, so AMQP frames may be
 * split across messages or share one. Pings are answered; a close is echoed; bad input closes
 * with the WebSocketError's close code and destroys the stream with that error.
 */
import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import { encodeFrame, FrameParser, Opcode } from './ws-frames.js';
import { WebSocketError } from './ws-errors.js';

export class WebSocketStream extends Duplex {
  private readonly parser: FrameParser;
  private closeSent = false;

  constructor(
    readonly socket: Duplex,
    private readonly role: 'client' | 'server',
    options: { maxMessageSize?: number; head?: Buffer } = {},
  ) {
    super();
    this.parser = new FrameParser({
      expectMasked: role === 'server',
      maxMessageSize: options.maxMessageSize ?? 16 * 1024 * 1024,
    });
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    if (options.head && options.head.length > 0) queueMicrotask(() => this.onBytes(options.head!));
  }

  private frame(opcode: number, payload: Uint8Array): Buffer {
    return encodeFrame({ fin: true, opcode, payload }, this.role === 'client' ? randomBytes(4) : undefined);
  }

  private onBytes(chunk: Buffer): void {
    if (this.destroyed) return;
    try {
      for (const m of this.parser.push(chunk)) {
        if (m.opcode === Opcode.binary) this.push(m.payload);
        else if (m.opcode === Opcode.text)
          throw new WebSocketError('AMQP_WS_TEXT', 'a text message: AMQP is binary only');
        else if (m.opcode === Opcode.ping) this.socket.write(this.frame(Opcode.pong, m.payload));
        else if (m.opcode === Opcode.close) {
          this.sendClose(m.payload.length >= 2 ? m.payload.readUInt16BE(0) : 1000);
          this.push(null);
        }
      }
    } catch (e) {
      const err = e as WebSocketError;
      this.sendClose(err.closeCode ?? 1002);
      this.destroy(err);
    }
  }

  private sendClose(code: number): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code, 0);
    this.socket.end(this.frame(Opcode.close, p));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.closeSent) return done();
    if (this.socket.write(this.frame(Opcode.binary, chunk))) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.sendClose(1000);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.socket.destroyed) {
      if (!this.closeSent) this.sendClose(1000);
      setTimeout(() => this.socket.destroy(), 1000).unref?.();
    }
    done(err);
  }
}
