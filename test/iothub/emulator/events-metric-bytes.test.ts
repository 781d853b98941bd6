/**
 * A receiver with the runtime-metric capability gets the stored event's bytes with its delivery
 * annotations spliced in, not a re-encoded copy: every section but the annotations is the same
 * bytes a plain receiver gets, and delivering costs no encode of the event (counted here by the
 * bytes encodeMessage produces while the events are delivered).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as codec from '../../../src/codec/message.js';
import { decodeMessage, encodeMessage, type Message } from '../../../src/codec/message.js';
import { RUNTIME_METRIC_CAPABILITY } from '../../../src/iothub/emulator/index.js';
import { withDeliveryAnnotations } from '../../../src/iothub/emulator/delivery-annotations.js';
import { cleanup, connectDevice, connectService, next, testHub } from './helpers.js';

const encoded = vi.hoisted(() => ({ bytes: 0 }));
vi.mock('../../../src/codec/message.js', async (importOriginal) => {
  const m = await importOriginal<typeof codec>();
  return {
    ...m,
    encodeMessage: (msg: Message) => {
      const b = m.encodeMessage(msg);
      encoded.bytes += b.length;
      return b;
    },
  };
});

afterEach(cleanup);

const BODY = 20_000;

describe('runtime-metric receivers share the stored bytes', () => {
  it("the sections after the delivery annotations are the plain receiver's bytes; nothing is re-encoded", async () => {
    const t = await testHub();
    const dev = await connectDevice(t, 'd1');
    const s = await dev.openSender('/devices/d1/messages/events');
    for (let i = 0; i < 3; i++)
      await s.send({
        header: { durable: true },
        properties: { messageId: `e${i}` },
        body: Buffer.alloc(BODY, i),
      });
    const p = t.hub.state.telemetry.partitionOf('d1');
    const address = `${t.hub.eventHubName}/ConsumerGroups/$Default/Partitions/${p}`;
    const svc = await connectService(t);
    const plain = await svc.openReceiver({ address, credit: 5 });
    const plainBytes = [];
    for (let i = 0; i < 3; i++) plainBytes.push(Buffer.from((await next(plain)).payload));

    encoded.bytes = 0;
    const metric = await svc.openReceiver({
      address,
      desiredCapabilities: [RUNTIME_METRIC_CAPABILITY],
      credit: 5,
    });
    for (let i = 0; i < 3; i++) {
      const got = await next(metric);
      const m = got.message;
      expect(m.deliveryAnnotations).toMatchObject({ last_enqueued_sequence_number: 2n });
      // Header, then the annotations section, then exactly the plain receiver's remaining bytes.
      const header = encodeMessage({ header: decodeMessage(plainBytes[i]!).header! });
      const da = encodeMessage({ deliveryAnnotations: m.deliveryAnnotations! });
      expect(Buffer.from(got.payload)).toEqual(
        Buffer.concat([header, da, plainBytes[i]!.subarray(header.length)]),
      );
    }
    // Three deliveries with a 20 kB body each: only the small annotation sections were encoded
    // (the test's own two encodes per event above add the header and annotations too).
    expect(encoded.bytes).toBeLessThan(BODY);
  });
});

describe('withDeliveryAnnotations', () => {
  const annotations = fc.dictionary(
    fc.string({ maxLength: 8 }),
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
      fc.boolean(),
    ),
    { maxKeys: 4 },
  );
  const message: fc.Arbitrary<Message> = fc.record(
    {
      header: fc.record({ durable: fc.boolean(), priority: fc.integer({ min: 0, max: 9 }) }),
      deliveryAnnotations: annotations,
      messageAnnotations: annotations,
      properties: fc.record({ messageId: fc.string({ maxLength: 10 }) }),
      applicationProperties: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
        maxKeys: 3,
      }),
      body: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    },
    { requiredKeys: [] },
  );

  it('equals decoding the event, setting its delivery annotations and encoding it again', () => {
    fc.assert(
      fc.property(message, annotations, (m, da) => {
        const stored = encodeMessage(m);
        const generic = encodeMessage({ ...decodeMessage(stored), deliveryAnnotations: da });
        expect(withDeliveryAnnotations(stored, da)).toEqual(generic);
      }),
    );
  });
});
