/**
 * Moves an engine's bytes over a Node socket (net or tls), or any byte stream (byte-stream.ts).
 * The only place where sockets, timers and the event loop meet the engine:
 * - input: each chunk goes to `receive`, then the engine's events are dispatched;
 * - output: gathered once per event-loop turn (nextTurn: setImmediate under Node) into one write,
 *   or written before the next input chunk once EARLY_FLUSH_INPUT bytes came in while it waited;
 * - time: one timer, set to the deadline the engine's `tick` returns;
 * - backpressure: while the socket's buffer is full, output is not taken, so queued messages wait
 *   in their senders (bounded by the API) instead of piling up in memory;
 * - a peer that does not read: with `pauseReadingAbove`, while more than that many bytes wait in
 *   the socket for the peer, its input is not read either, so its requests cannot make us buffer
 *   replies without end (servers set it; a client never stops reading, so two of ours cannot wait
 *   on each other).
 */
import type { DriverStream } from './byte-stream.js';
import type { Connection } from '../connection/connection.js';
import { DisconnectedError } from '../protocol/errors.js';
import type { EngineEvent } from '../connection/events.js';
import { nextTurn } from '../util/timers.js';

export interface DriverHooks {
  onEvent(e: EngineEvent): void;
  /** The socket closed; `error` when it was not a clean AMQP close. */
  onClosed(error: Error | undefined): void;
  /** Output was handed to the socket. */
  onFlushed?(): void;
}

export type Clock = () => number;

/**
 * How long a finished connection's socket may take to hand its last bytes to the peer after
 * end(): a peer that does not read would otherwise keep the socket (and its slot) for ever.
 */
export const END_GRACE_MS = 5000;

/**
 * Output waiting for the end of the turn is written before the next input chunk once this much
 * input was handled meanwhile (the chunk that made it due included): a busy socket's read (64 KiB).
 */
export const EARLY_FLUSH_INPUT = 64 * 1024;

export interface DriverOptions {
  /** Stop reading the peer's input while more than this many bytes wait to be sent to it. 0 = never. */
  pauseReadingAbove?: number;
}

export class SocketDriver {
  private flushScheduled = false;
  /** A nextTurn callback is queued (it flushes only if flushScheduled is still set). */
  private turnQueued = false;
  /** Input bytes handled since output began to wait for the turn's end. */
  private inputWhileWaiting = 0;
  /** While an early write is under way: input that arrived meanwhile, read after the current chunk. */
  private held: Uint8Array[] | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private socketError: Error | undefined;
  private readonly pauseAbove: number;
  /** Reading is paused because the peer does not take our output. */
  readingPaused = false;

  constructor(
    readonly engine: Connection,
    readonly socket: DriverStream,
    private readonly hooks: DriverHooks,
    private readonly clock: Clock = Date.now,
    options: DriverOptions = {},
  ) {
    this.pauseAbove = options.pauseReadingAbove ?? 0;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Uint8Array) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.readingPaused) {
        this.readingPaused = false;
        socket.resume();
      }
      this.schedule();
    });
    socket.on('error', (err) => {
      this.socketError ??= err;
    });
    socket.on('close', () => this.onSocketClose());
    this.tick();
  }

  private onData(chunk: Uint8Array): void {
    // Input that a write of ours brought back at once (a stream may answer inside write()) is read
    // after the chunk whose early write it answered, so that the engine reads bytes in order.
    if (this.held !== undefined) {
      this.held.push(chunk);
      return;
    }
    // Output that has waited while a socket read's worth of input was handled goes before the next
    // chunk, not at the end of the turn. Under load one turn hands over many chunks; without this
    // a receiver's credit and dispositions (given as its application takes each chunk's messages)
    // would wait until it had handled them all, and its peer would stall meanwhile. Small chunks
    // (a peer's dispositions) do not trigger it, so a sender's writes stay large.
    if (this.flushScheduled && this.inputWhileWaiting >= EARLY_FLUSH_INPUT) {
      const held: Uint8Array[] = (this.held = []);
      try {
        this.flush();
      } finally {
        this.held = undefined;
        this.read(chunk);
        for (const c of held) this.onData(c);
      }
    } else this.read(chunk);
  }

  private read(chunk: Uint8Array): void {
    this.engine.tick(this.clock());
    this.engine.receive(chunk);
    this.dispatch();
    this.schedule();
    if (this.flushScheduled) this.inputWhileWaiting += chunk.length;
  }

  /** Delivers engine events to the layer above (which may call the engine again). */
  dispatch(): void {
    for (let events = this.engine.takeEvents(); events.length > 0; events = this.engine.takeEvents()) {
      for (const e of events) this.hooks.onEvent(e);
    }
  }

  /** Asks for a flush at the end of this event-loop turn. */
  schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    if (this.turnQueued) return;
    this.turnQueued = true;
    nextTurn(() => {
      this.turnQueued = false;
      if (this.flushScheduled) this.flush();
    });
  }

  /** Writes all pending output in one socket write. */
  flush(): void {
    this.flushScheduled = false;
    this.inputWhileWaiting = 0;
    if (this.closed) return;
    // While the socket is full, output waits for 'drain'; a finished engine ends it regardless.
    if (this.socket.writableNeedDrain && !this.engine.finished) return;
    const out = this.socket.writableNeedDrain ? undefined : this.engine.takeOutput();
    if (out) {
      this.socket.write(out);
      const s = this.socket;
      if (
        this.pauseAbove > 0 &&
        s.writableNeedDrain &&
        s.writableLength > this.pauseAbove &&
        !this.readingPaused
      ) {
        // Resumed on 'drain' (due, since the write said to wait), once the peer has read what waits.
        this.readingPaused = true;
        this.socket.pause();
      }
      this.hooks.onFlushed?.();
    }
    this.dispatch();
    if (this.engine.finished) {
      const rest = this.engine.takeOutput();
      if (rest) this.socket.write(rest);
      this.socket.end();
      this.closed = true;
      clearTimeout(this.timer);
      // end() waits for the peer to read what is buffered: one that never does is dropped.
      this.graceTimer = setTimeout(() => this.socket.destroy(), END_GRACE_MS);
      this.graceTimer.unref?.();
      return;
    }
    if (this.engine.hasOutput) this.schedule();
    this.tick();
  }

  private tick(): void {
    if (this.closed) return;
    const next = this.engine.tick(this.clock());
    if (this.engine.hasOutput) this.schedule();
    if (next === undefined) return;
    if (this.timer && this.timerAt <= next) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.tick();
        this.dispatch();
      },
      Math.max(0, next - this.clock()),
    );
    this.timer.unref?.();
  }

  private onSocketClose(): void {
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    const clean = this.engine.finished && !this.engine.error;
    this.closed = true;
    const error = clean
      ? undefined
      : (this.engine.error ??
        new DisconnectedError('the socket closed before the AMQP connection did', {
          cause: this.socketError,
        }));
    this.hooks.onClosed(error);
  }

  /** Drops the socket now (used when giving up on a peer). */
  destroy(err?: Error): void {
    this.socket.destroy(err);
  }
}
