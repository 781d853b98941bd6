/**
 * A byte stream over a WebSocket whose handshake is done: writes go out as binary messages (masked
 * by a client, never by a server), incoming binary messages become bytes as they arrive, so AMQP
 * frames may be split across messages or share one (the AMQP WebSocket binding allows both). Pings are
 * answered; a peer's close is echoed and ends the stream. Bad input closes with the
 * WebSocketError's close code and destroys the stream with that error.
 *
 * A peer that does not read cannot make us hold its bytes: while our reader is behind (push()
 * returns false) the socket is not read, as a bare socket would not be; and while the socket waits
 * to drain, only the latest ping is answered, once it has (RFC 6455 section 5.5.3 allows it), so
 * a ping flood costs one pending pong.
 *
 * Closing (RFC 6455 section 7): end() sends our close frame; the TCP socket is then ended once the
 * peer's close arrives, or after CLOSE_WAIT_MS if it never does, so a silent peer cannot keep the
 * socket; nor can one that sent its close and keeps its TCP side open (dropped CLOSE_WAIT_MS
 * after our echo).
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import { realTimers, type Timers } from '../../util/timers.js';
import { encodeFrame, FrameParser, Opcode } from './ws-frames.js';
import { WebSocketError } from './ws-errors.js';

/** Largest binary message we send; a longer write is split (peers bound messages, not streams). */
export const MAX_OUTGOING_MESSAGE = 1024 * 1024;
/** How long after our close frame the peer's may take before the socket is dropped. */
export const CLOSE_WAIT_MS = 5000;
/** Default bound on one incoming message, after joining its fragments. */
export const DEFAULT_MAX_WS_MESSAGE = 16 * 1024 * 1024;

export interface WebSocketStreamOptions {
  /** Largest incoming message (default DEFAULT_MAX_WS_MESSAGE); above it: close 1009. */
  maxMessageSize?: number;
  /** Bytes that arrived with the handshake's last packet (the first frames). */
  head?: Buffer;
  /** The subprotocol agreed in the handshake. */
  protocol?: string;
  /** The endpoint the upgrade asked for. */
  path?: string;
  timers?: Timers;
}

export class WebSocketStream extends Duplex {
  private readonly parser: FrameParser;
  private readonly timers: Timers;
  private closeSent = false;
  private closeReceived = false;
  private closeTimer: unknown;
  /** Destroys the ended socket if the peer keeps it (dropSocketLater). */
  private dropTimer: unknown;
  /** The latest ping's payload, answered on 'drain'. */
  private pendingPong: Buffer | undefined;
  /** The subprotocol agreed: AMQPWSB10 or amqp. */
  readonly protocol: string | undefined;
  /** The endpoint of the upgrade (a server can serve several, IoT Hub's /$iothub/websocket say). */
  readonly path: string | undefined;

  constructor(
    readonly socket: Duplex,
    private readonly role: 'client' | 'server',
    options: WebSocketStreamOptions = {},
  ) {
    super();
    this.protocol = options.protocol;
    this.path = options.path;
    this.timers = options.timers ?? realTimers;
    this.parser = new FrameParser({
      expectMasked: role === 'server',
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_WS_MESSAGE,
    });
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    socket.on('drain', () => this.sendPendingPong());
    if (options.head && options.head.length > 0) this.onBytes(options.head);
    // Unless the head's frames already filled our reader: then _read resumes it.
    if (this.readableLength < this.readableHighWaterMark) socket.resume();
  }

  /** The peer's address, from the socket underneath. */
  get remoteAddress(): string | undefined {
    return (this.socket as { remoteAddress?: string }).remoteAddress;
  }

  get remotePort(): number | undefined {
    return (this.socket as { remotePort?: number }).remotePort;
  }

  get localPort(): number | undefined {
    return (this.socket as { localPort?: number }).localPort;
  }

  /** Turns off Nagle's delay on the socket underneath, when it is one. */
  setNoDelay(noDelay = true): void {
    (this.socket as { setNoDelay?(b: boolean): unknown }).setNoDelay?.(noDelay);
  }

  private frame(opcode: number, payload: Uint8Array): Buffer {
    return encodeFrame({ fin: true, opcode, payload }, this.role === 'client' ? randomBytes(4) : undefined);
  }

  private onBytes(chunk: Buffer): void {
    if (this.destroyed || this.closeReceived) return;
    try {
      for (const m of this.parser.push(chunk)) {
        if (m.opcode === Opcode.binary) {
          if (!this.push(m.payload)) this.socket.pause();
        } else if (m.opcode === Opcode.ping) {
          this.pendingPong = m.payload;
          if (!this.socket.writableNeedDrain) this.sendPendingPong();
        } else if (m.opcode === Opcode.close) {
          this.onPeerClose(m.payload);
          return;
        }
      }
    } catch (e) {
      const err = e as WebSocketError;
      this.sendClose(err.closeCode ?? 1002);
      this.socket.end();
      this.destroy(err);
    }
  }

  /** The peer's close: echo it (unless ours went first), end our side, and the socket. */
  private onPeerClose(payload: Buffer): void {
    this.closeReceived = true;
    if (payload.length === 1) throw new WebSocketError('AMQP_WS_PROTOCOL', 'a close frame of one byte');
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    if (payload.length >= 2 && !validCloseCode(code))
      throw new WebSocketError('AMQP_WS_PROTOCOL', `a close frame with the invalid code ${code}`);
    if (payload.length > 2 && !isUtf8(payload.subarray(2)))
      throw new WebSocketError('AMQP_WS_BAD_UTF8', 'a close frame whose reason is not UTF-8');
    this.sendClose(code === 1005 ? 1000 : code);
    this.socket.end();
    this.dropSocketLater();
    this.push(null);
  }

  /** The socket is ended: a peer that neither reads nor closes its side loses it after CLOSE_WAIT_MS. */
  private dropSocketLater(): void {
    if (this.dropTimer !== undefined || this.socket.destroyed) return;
    const t = (this.dropTimer = this.timers.setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS));
    this.socket.once('close', () => this.timers.clearTimeout(t));
  }

  private sendPendingPong(): void {
    const payload = this.pendingPong;
    this.pendingPong = undefined;
    if (payload !== undefined && !this.closeSent) this.socket.write(this.frame(Opcode.pong, payload));
  }

  private sendClose(code: number): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code, 0);
    if (!this.socket.writableEnded) this.socket.write(this.frame(Opcode.close, p));
  }

  // Our reader wants more: read the socket again.
  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    // After a close frame nothing more may be sent (section 5.5.1); the connection is over.
    if (this.closeSent) return done();
    let ok = true;
    for (let at = 0; at < chunk.length; at += MAX_OUTGOING_MESSAGE)
      ok = this.socket.write(this.frame(Opcode.binary, chunk.subarray(at, at + MAX_OUTGOING_MESSAGE)));
    if (ok) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.sendClose(1000);
    if (this.closeReceived) this.socket.end();
    else
      this.closeTimer = this.timers.setTimeout(() => {
        this.closeTimer = undefined;
        this.socket.destroy();
      }, CLOSE_WAIT_MS);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.closeTimer !== undefined) this.timers.clearTimeout(this.closeTimer);
    if (!this.socket.destroyed) {
      this.sendClose(err instanceof WebSocketError ? err.closeCode : 1000);
      this.socket.end();
      this.dropSocketLater();
    }
    done(err);
  }
}

/** Close codes a peer may send (RFC 6455 section 7.4). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
