/**
 * Drives an engine with untrusted bytes and judges the result: nothing may throw out of
 * receive/takeOutput/tick/takeEvents, the output must stay well-formed (nothing after our close),
 * and the engine must end either still working or closed with an AMQP condition.
 */
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import type { Receiver } from '../../src/link/receiver.js';
import type { Sender } from '../../src/link/sender.js';
import { Decoder } from '../../src/codec/decoder.js';
import { FrameReader } from '../../src/frames/frame-reader.js';
import { DeliveryIdMap } from '../../src/session/delivery-map.js';
import { WorkMeter } from '../support/work-meter.js';
import { WireTap } from './wire.js';

export type Verdict = 'working' | 'closed-by-peer' | 'closed-with-condition';

export class EngineDriver {
  readonly tap = new WireTap('engine under fuzz', 0xffffffff);
  now = 1000;
  private closed = false;

  constructor(readonly engine: Connection) {
    engine.tick(this.now);
  }

  /** Feeds one chunk, then does what an application would: answer, credit, settle, send, tick. */
  feed(chunk: Uint8Array): void {
    this.engine.receive(chunk);
    this.react();
    this.now += 7;
    this.engine.tick(this.now);
    this.flush();
  }

  private react(): void {
    for (const e of this.engine.takeEvents()) {
      if (e.type === 'connection-remote-open') this.engine.open();
      else if (e.type === 'session-remote-open') e.session.begin();
      else if (e.type === 'link-remote-open') {
        e.link.attach();
        if (e.link.role === 'receiver') (e.link as Receiver).setCredit(10);
        else if (e.link.isOpen && (e.link as Sender).messageSizeLimit !== 1)
          (e.link as Sender).send(Buffer.from('f'));
      } else if (e.type === 'delivery') (e.delivery.link as Receiver).settle(e.delivery);
    }
  }

  private flush(): void {
    const out = this.engine.takeOutput();
    if (!out) return;
    for (const it of this.tap.feed(out)) {
      if (this.closed)
        throw new Error(
          `the engine wrote ${it.kind === 'frame' ? it.rec?.type : 'a header'} after its close`,
        );
      if (it.kind === 'frame' && it.rec?.type === 'close') this.closed = true;
    }
  }

  /** After the input: let every timer run out, then judge. Throws when the state is not acceptable. */
  finish(): Verdict {
    const e = this.engine;
    const verdict = judge(e);
    // Timers (close timeout, idle timeout) must bring a closing engine to its end.
    this.now += 60_000;
    e.tick(this.now);
    this.react();
    this.flush();
    if (e.local === 'closed' && !e.finished)
      throw new Error('a closing engine did not finish after its close timeout');
    return verdict;
  }
}

export function judge(e: Connection): Verdict {
  // The peer's close may carry any condition symbol (custom ones too).
  if (e.remote === 'closed' && (!e.error || (e.error as { remote?: boolean }).remote))
    return 'closed-by-peer';
  const condition = e.error?.condition;
  if (e.error && !(typeof condition === 'string' && condition.startsWith('amqp:'))) {
    throw new Error(`error without an AMQP condition: ${e.error.code} ${e.error.message}`);
  }
  // internal-error is what an unexpected exception inside the engine turns into: a bug.
  if (condition === 'amqp:internal-error')
    throw new Error('engine bug', { cause: e.error!.cause ?? e.error });
  if (condition) return 'closed-with-condition';
  if (e.finished || e.local === 'closed') throw new Error('the engine stopped without a condition');
  return 'working';
}

/** A server engine as a listener would create it (SASL offered, bare AMQP accepted). */
export function fuzzServer(options: ConnectionOptions = {}): Connection {
  return new Connection({
    role: 'server',
    containerId: 'fuzz-server',
    maxFrameSize: 64 * 1024,
    idleTimeoutMs: 30_000,
    saslServer: {
      mechanisms: [
        { name: 'ANONYMOUS', start: () => ({ outcome: 'ok', identity: 'anonymous' }) },
        {
          name: 'PLAIN',
          start: (r) =>
            r?.toString().endsWith('\0secret')
              ? { outcome: 'ok', identity: 'u' }
              : { outcome: 'fail', code: 1 },
        },
      ],
    },
    ...options,
  });
}

/**
 * A client engine that has opened a connection, a session and a receiver, its initial output
 * taken: the state in which Proton's fuzz-connection-driver feeds its inputs.
 */
export function fuzzClientReceiver(): { engine: Connection; driver: EngineDriver } {
  const engine = new Connection({ role: 'client', containerId: 'fuzz-client', maxFrameSize: 64 * 1024 });
  const driver = new EngineDriver(engine);
  engine.open();
  const s = engine.beginSession();
  s.openReceiver({ name: 'receiver', source: { address: 'q' } }).setCredit(100);
  driver.feed(new Uint8Array(0));
  return { engine, driver };
}

/**
 * Work, counted: frames read and written, values decoded, delivery-map lookups and entries
 * visited. Fuzz inputs are a few kilobytes at most; a loop driven by a number in a frame (a range,
 * a count, a credit) rather than by the bytes would go far past the limit.
 */
export const ENGINE_WORK_LIMIT = 200_000;

export function engineWorkMeter(): WorkMeter {
  return new WorkMeter(
    [FrameReader.prototype, ['next']],
    [Connection.prototype, ['writeFrame']],
    [Decoder.prototype, ['readBody', 'element']],
    [DeliveryIdMap.prototype, ['get', 'has', 'entries']],
  );
}
