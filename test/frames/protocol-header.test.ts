import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/codec/byte-writer.js';
import {
  AMQP_HEADER,
  FramingError,
  PROTOCOL_ID_AMQP,
  PROTOCOL_ID_SASL,
  PROTOCOL_ID_TLS,
  ProtocolHeaderMismatchError,
  SASL_HEADER,
  TLS_HEADER,
  parseProtocolHeader,
  writeProtocolHeader,
  type ProtocolId,
} from '../../src/frames/index.js';

// Spec 2.2, 5.2.1, 5.3.1: 'A' 'M' 'Q' 'P' protocol-id major minor revision.
const known: Array<[ProtocolId, number[]]> = [
  [PROTOCOL_ID_AMQP, [0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]],
  [PROTOCOL_ID_TLS, [0x41, 0x4d, 0x51, 0x50, 0x02, 0x01, 0x00, 0x00]],
  [PROTOCOL_ID_SASL, [0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]],
];

describe('protocol header', () => {
  it('constants match the spec bytes', () => {
    expect([...AMQP_HEADER]).toEqual(known[0][1]);
    expect([...TLS_HEADER]).toEqual(known[1][1]);
    expect([...SASL_HEADER]).toEqual(known[2][1]);
  });

  it.each(known)('writes and parses protocol id %i', (id, bytes) => {
    const w = new ByteWriter(4); // forces growth
    w.u8(0xff);
    writeProtocolHeader(w, id);
    expect([...w.view()]).toEqual([0xff, ...bytes]);
    expect(parseProtocolHeader(Buffer.from(bytes))).toEqual({
      kind: 'header',
      protocolId: id,
      major: 1,
      minor: 0,
      revision: 0,
    });
  });

  const bad: Array<[string, number[], string]> = [
    ['HTTP', [...Buffer.from('GET / HT')], 'not-amqp'],
    ['AMQP 0-9-1', [0x41, 0x4d, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01], 'version'],
    ['protocol id 1', [0x41, 0x4d, 0x51, 0x50, 0x01, 0x01, 0x00, 0x00], 'protocol-id'],
    ['version 1.0.1', [0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x01], 'version'],
    ['version 2.0.0', [0x41, 0x4d, 0x51, 0x50, 0x03, 0x02, 0x00, 0x00], 'version'],
    ['truncated', [0x41, 0x4d, 0x51], 'truncated'],
  ];
  it.each(bad)('refuses %s and keeps the received bytes', (_name, bytes, reason) => {
    let caught: unknown;
    try {
      parseProtocolHeader(Buffer.from(bytes));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolHeaderMismatchError);
    expect(caught).toBeInstanceOf(FramingError);
    const e = caught as ProtocolHeaderMismatchError;
    expect(e.code).toBe('AMQP_HEADER_MISMATCH');
    expect(e.condition).toBe('amqp:connection:framing-error');
    expect(e.reason).toBe(reason);
    expect([...e.received]).toEqual(bytes);
  });

  it('copies the received bytes rather than aliasing the input', () => {
    const input = Buffer.from('XXXXXXXX');
    try {
      parseProtocolHeader(input);
    } catch (err) {
      input.fill(0);
      expect((err as ProtocolHeaderMismatchError).received.toString()).toBe('XXXXXXXX');
    }
  });
});
