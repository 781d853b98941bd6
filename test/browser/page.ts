/**
 * What the headless page runs (bundled by esbuild with src/browser.ts and src/iothub/browser.ts,
 * no Node polyfills). Each
 * scenario is a function on `globalThis.scenarios` that the test calls through the DevTools
 * protocol; it returns plain data for the test's assertions and never decides pass or fail itself.
 */
import {
  connect,
  decodeMessage,
  encodeMessage,
  type Message,
  type AmqpConnection,
} from '../../src/browser.js';
import { telemetryMessage } from '../../src/bench/telemetry.js';
import { DeviceClient } from '../../src/iothub/browser.js';
import { fromHex, toHex, toPlain } from './plain.js';

/** An error as the test sees it. */
function described(e: unknown): { name: string; code?: string; message: string; cause?: unknown } {
  const err = e as { name?: string; code?: string; message?: string; cause?: unknown };
  return {
    name: String(err?.name),
    code: err?.code,
    message: String(err?.message),
    cause: err?.cause === undefined ? undefined : described(err.cause),
  };
}

async function settled<T>(p: Promise<T>): Promise<{ ok: T } | { error: ReturnType<typeof described> }> {
  try {
    return { ok: await p };
  } catch (e) {
    return { error: described(e) };
  }
}

function bodyText(m: Message): string {
  return m.body instanceof Uint8Array ? new TextDecoder().decode(m.body) : String(m.body);
}

/** Receives `n` messages from `address` on `c`, accepting each; their bodies and application properties. */
async function receiveN(c: AmqpConnection, address: string, n: number) {
  const receiver = await c.openReceiver({ address, credit: 100 });
  const got: { body: string; props: unknown; protocolClass: string }[] = [];
  for await (const d of receiver) {
    const m = d.message;
    got.push({
      body: bodyText(m),
      props: toPlain(m.applicationProperties),
      protocolClass: m.body?.constructor?.name ?? '',
    });
    d.accept();
    if (got.length === n) break;
  }
  await receiver.close();
  return got;
}

const scenarios = {
  /**
   * An IoT Hub device in the page: connects with the connection string `cs` (wss:// by default,
   * SAS tokens signed with Web Crypto), sends one telemetry message, closes. What it announced.
   */
  async iotTelemetry(
    cs: string,
    message: { body: string; messageId: string; properties: Record<string, string> },
  ) {
    const device = DeviceClient.fromConnectionString(cs, { reconnect: false, connectTimeoutMs: 30_000 });
    await device.open();
    await device.sendEvent({
      body: new TextEncoder().encode(message.body),
      messageId: message.messageId,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      properties: message.properties,
    });
    await device.close();
    return { userAgent: device.userAgent, port: device.hub.options.port, tls: device.hub.options.tls };
  },

  /** What opening a DeviceClient with `cs` rejects with (or that it did not). */
  async iotOpenError(cs: string) {
    const device = DeviceClient.fromConnectionString(cs, { reconnect: false, connectTimeoutMs: 30_000 });
    const r = await settled(device.open());
    await device.close();
    return 'ok' in r ? { connected: true } : r;
  },

  /** The telemetry message with `bodyHex` as its body: its encoding, and the encoding decoded. */
  codec(bodyHex: string) {
    const bytes = encodeMessage(telemetryMessage(fromHex(bodyHex) as never));
    return { hex: toHex(bytes), decoded: toPlain(decodeMessage(bytes)) };
  },

  /** Connects, sends `bodies` to `address` and reads them back on the same connection. */
  async echo(url: string, address: string, bodies: string[]) {
    const c = await connect(url);
    const sender = await c.openSender(address);
    const outcomes: unknown[] = [];
    const received = receiveN(c, address, bodies.length);
    for (const [i, b] of bodies.entries()) {
      outcomes.push(
        toPlain(await sender.send({ body: new TextEncoder().encode(b), applicationProperties: { i } })),
      );
    }
    const got = await received;
    await c.close();
    return { outcomes, got, containerId: c.remoteOpen?.containerId };
  },

  /** Sends `bodies` to `address` (the outcomes), then closes. */
  async send(url: string, address: string, bodies: string[]) {
    const c = await connect(url);
    const sender = await c.openSender(address);
    const outcomes: unknown[] = [];
    for (const [i, b] of bodies.entries()) {
      outcomes.push(
        toPlain(
          await sender.send({
            body: new TextEncoder().encode(b),
            applicationProperties: { i, from: 'browser' },
          }),
        ),
      );
    }
    await c.close();
    return outcomes;
  },

  /** Receives `n` messages from `address`, then closes. */
  async receive(url: string, address: string, n: number) {
    const c = await connect(url);
    const got = await receiveN(c, address, n);
    await c.close();
    return got;
  },

  /** What connect() rejects with (or that it did not). */
  async connectError(url: string) {
    const r = await settled(connect({ url, connectTimeoutMs: 10_000 }));
    if ('ok' in r) {
      await r.ok.close();
      return { connected: true };
    }
    return r;
  },

  /**
   * Sends `n` telemetry-sized messages unsettled, waiting for every outcome, while a second
   * connection of the page receives them: counts, and the send rate the page measured.
   */
  async rate(url: string, address: string, n: number, bodyHex: string) {
    const body = fromHex(bodyHex);
    const rx = await connect(url);
    const tx = await connect(url);
    const received = (async () => {
      const receiver = await rx.openReceiver({ address, credit: 500 });
      let count = 0;
      for await (const d of receiver) {
        d.accept();
        if (++count === n) break;
      }
      return count;
    })();
    const sender = await tx.openSender(address);
    const started = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      await sender.ready();
      sends.push(sender.send({ body, applicationProperties: { i } }));
    }
    const outcomes = await Promise.all(sends);
    const seconds = (performance.now() - started) / 1000;
    const count = await received;
    await Promise.all([tx.close(), rx.close()]);
    const accepted = outcomes.filter((o) => (o as { type?: string } | undefined)?.type === 'accepted').length;
    return { accepted, received: count, seconds, perSecond: Math.round(n / seconds) };
  },
};

(globalThis as unknown as { scenarios: typeof scenarios }).scenarios = scenarios;
export type Scenarios = typeof scenarios;
