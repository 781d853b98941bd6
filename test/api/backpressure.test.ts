/**
 * Sends through a slow link (a proxy that reads in small bites with pauses), so that the socket's
 * buffer fills and writes stay pending: the encoded messages (views of a shared slab) and the output
 * handed to the socket must stay intact until written. Every message must arrive, unchanged, in order.
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/index.js';
import { sinkServer, until, type SinkServer } from './support.js';

let sink: SinkServer | undefined;
let conn: AmqpConnection | undefined;
let proxy: net.Server | undefined;
afterEach(async () => {
  await conn?.close().catch(() => undefined);
  await sink?.server.close();
  await new Promise((r) => (proxy ? proxy.close(r) : r(undefined)));
  sink = conn = proxy = undefined;
});

/** Forwards to `port`, but reads from the client side slowly: the client's writes back up. */
async function slowProxy(port: number): Promise<{ port: number; pauses: () => number }> {
  let pauses = 0;
  proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    upstream.on('data', (d) => client.write(d));
    client.on('data', (d) => {
      upstream.write(d);
      client.pause();
      pauses++;
      setTimeout(() => client.resume(), 2);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', r));
  return { port: (proxy.address() as net.AddressInfo).port, pauses: () => pauses };
}

const body = (i: number): Buffer => {
  const b = Buffer.alloc(1000 + (i % 700));
  b.writeUInt32BE(i, 0);
  for (let j = 4; j < b.length; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
};

describe('sending under backpressure', () => {
  for (const presettled of [true, false]) {
    test(`every message arrives intact (${presettled ? 'presettled' : 'unsettled'})`, async () => {
      sink = await sinkServer({}, () => 'accept', 5000);
      const p = await slowProxy(sink.server.port);
      conn = await connect({ host: '127.0.0.1', port: p.port });
      const s = await conn.openSender({ address: 'q', presettled, maxQueued: 4096 });
      const n = 6000;
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) {
        sends.push(
          s.send({ properties: { messageId: `m-${i}` }, applicationProperties: { i }, body: body(i) }),
        );
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
      }
      await Promise.all(sends);
      await until(() => sink!.received.length === n, 30_000);
      expect(p.pauses()).toBeGreaterThan(10);
      for (let i = 0; i < n; i++) {
        const m = sink.received[i]!.message;
        expect(m.properties?.messageId).toBe(`m-${i}`);
        expect(m.applicationProperties).toEqual({ i });
        expect((m.body as Buffer).equals(body(i))).toBe(true);
      }
    }, 60_000);
  }
});
