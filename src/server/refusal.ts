/**
 * The answer to a client the server has no room for, with no engine built for it: fixed bytes,
 * encoded once, chosen by the protocol-id of the client's header.
 * - AMQP: our header, an open and a close with amqp:resource-limit-exceeded;
 * - SASL: our SASL header and mechanisms (ANONYMOUS), then, whatever the client sends next,
 *   sasl-outcome sys-temp (spec 5.3.3.6: a temporary failure, try again later).
 * Nothing the client sends is kept, and the socket is dropped after `deadlineMs` in any case.
 */
import type { ByteStream } from '../transport/byte-stream.js';
import { ByteWriter } from '../codec/byte-writer.js';
import { encodeComposite } from '../codec/composite.js';
import type { Performative, SaslFrameBody } from '../codec/spec/records.js';
import { Condition } from '../protocol/conditions.js';
import { toErrorRecord } from '../protocol/errors.js';
import { beginFrame, endFrame } from '../frames/frame-writer.js';
import {
  PROTOCOL_HEADER_SIZE,
  PROTOCOL_ID_AMQP,
  PROTOCOL_ID_SASL,
  writeProtocolHeader,
  type ProtocolId,
} from '../frames/protocol-header.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './limits.js';

const SASL_SYS_TEMP = 4;

function encode(protocolId: ProtocolId | undefined, records: (Performative | SaslFrameBody)[]): Buffer {
  const w = new ByteWriter(256);
  if (protocolId !== undefined) writeProtocolHeader(w, protocolId);
  for (const rec of records) {
    const start = beginFrame(w, rec.type.startsWith('sasl') ? 1 : 0, 0);
    encodeComposite(w, rec);
    endFrame(w, start);
  }
  return w.copy();
}

let fixed: { amqp: Buffer; saslStart: Buffer; saslEnd: Buffer } | undefined;

function answers(): NonNullable<typeof fixed> {
  fixed ??= {
    amqp: encode(PROTOCOL_ID_AMQP, [
      { type: 'open', containerId: 'amqp-one-server' },
      {
        type: 'close',
        error: toErrorRecord({
          condition: Condition.ResourceLimitExceeded,
          description: 'too many connections',
        }),
      },
    ]),
    saslStart: encode(PROTOCOL_ID_SASL, [{ type: 'sasl-mechanisms', saslServerMechanisms: ['ANONYMOUS'] }]),
    saslEnd: encode(undefined, [{ type: 'sasl-outcome', code: SASL_SYS_TEMP }]),
  };
  return fixed;
}

/** Answers and closes a socket the server refuses (it is full). */
export function refuseSocket(socket: ByteStream, deadlineMs: number): void {
  const a = answers();
  let seen = 0;
  let sasl = false;
  let done = false;
  const finish = (bytes: Buffer): void => {
    done = true;
    socket.end(bytes, () => socket.destroy());
  };
  const timer = setTimeout(
    () => socket.destroy(),
    deadlineMs > 0 ? deadlineMs : DEFAULT_HANDSHAKE_TIMEOUT_MS,
  );
  timer.unref();
  socket.on('error', () => undefined);
  socket.on('close', () => clearTimeout(timer));
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    const at = seen;
    seen += chunk.length;
    if (!sasl && at <= 4 && seen > 4) {
      // Byte 4 of the header is the protocol-id.
      if (chunk[4 - at] !== PROTOCOL_ID_SASL) return finish(a.amqp);
      sasl = true;
      socket.write(a.saslStart);
    }
    if (sasl && seen > PROTOCOL_HEADER_SIZE) finish(a.saslEnd);
  });
}
