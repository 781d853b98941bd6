/**
 * listen() and everything built on it (the broker, the emulator) reject with a ListenError: a
 * stable code, the host and port, and Node's error as the cause; never a bare EADDRINUSE.
 */
import { InvalidArgumentError } from '../../src/api/errors.js';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, ListenError, type AmqpServer } from '../../src/server/index.js';
import { listenError } from '../../src/transport/listen-on.js';
import { startBroker } from '../../src/broker/broker.js';
import { startHub } from '../../src/iothub/emulator/start-hub.js';

async function failure(p: Promise<unknown>): Promise<ListenError> {
  const err = await p.then(
    () => 'listening',
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ListenError);
  return err as ListenError;
}

let taken: AmqpServer | undefined;
afterEach(async () => {
  await taken?.close();
  taken = undefined;
});

describe('a port in use', () => {
  it('listen() rejects with AMQP_ADDRESS_IN_USE, naming host and port, EADDRINUSE as cause', async () => {
    taken = await listen({ port: 0, sasl: false });
    const err = await failure(listen({ port: taken.port, sasl: false }));
    expect(err.code).toBe('AMQP_ADDRESS_IN_USE');
    expect(err.host).toBe('127.0.0.1');
    expect(err.port).toBe(taken.port);
    expect(err.message).toBe(`cannot listen on 127.0.0.1:${taken.port}: the address is already in use`);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it("the emulator's TLS port in use", async () => {
    taken = await listen({ port: 0, sasl: false });
    // The emulator's TLS listener: the plain one it opened first is closed again.
    const err = await failure(startHub({ port: 0, tlsPort: taken.port }));
    expect(err.code).toBe('AMQP_ADDRESS_IN_USE');
    expect(err.port).toBe(taken.port);
  });

  it('startBroker and startHub reject with the same error', async () => {
    taken = await listen({ port: 0, sasl: false });
    const broker = await failure(startBroker({ port: taken.port, sasl: false }));
    expect(broker.code).toBe('AMQP_ADDRESS_IN_USE');
    const hub = await failure(startHub({ port: taken.port }));
    expect(hub.code).toBe('AMQP_ADDRESS_IN_USE');
    expect(hub.port).toBe(taken.port);
  });
});

describe('bad ports and hosts', () => {
  for (const port of [70000, -1, 1.5]) {
    it(`port ${String(port)}: AMQP_BAD_PORT, before anything listens`, async () => {
      const err = await failure(listen({ port: port as number, sasl: false }));
      expect(err.code).toBe('AMQP_BAD_PORT');
      expect(err.port).toBe(port);
      expect(err.message).toContain(`127.0.0.1:${String(port)}`);
    });
  }

  // Not a number at all: the option check refuses it first, naming the option.
  for (const port of [Number.NaN, 'abc', '5672']) {
    it(`port ${String(port)}: InvalidArgumentError for option 'port', before anything listens`, async () => {
      const err = await listen({ port: port as number, sasl: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe('port');
    });
  }

  it('a host that is not an address of this machine: AMQP_ADDRESS_UNAVAILABLE', async () => {
    // 192.0.2.0/24 is reserved for documentation (RFC 5737): never a local address, unless a
    // machine's admin assigned it; then the server that did start is closed, and the test fails.
    const p = listen({ host: '192.0.2.1', port: 0, sasl: false });
    void p.then(
      (s) => s.close(),
      () => undefined,
    );
    const err = await failure(p);
    expect(err.code).toBe('AMQP_ADDRESS_UNAVAILABLE');
    expect(err.host).toBe('192.0.2.1');
    expect((err.cause as NodeJS.ErrnoException).code).toBe('EADDRNOTAVAIL');
  });
});

describe('listenError', () => {
  const sys = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`listen ${code}`), { code });
  const cases: [string, string][] = [
    ['EADDRINUSE', 'AMQP_ADDRESS_IN_USE'],
    ['EACCES', 'AMQP_ADDRESS_DENIED'],
    ['EPERM', 'AMQP_ADDRESS_DENIED'],
    ['EADDRNOTAVAIL', 'AMQP_ADDRESS_UNAVAILABLE'],
    ['ENOTFOUND', 'AMQP_ADDRESS_UNAVAILABLE'],
    ['ERR_SOCKET_BAD_PORT', 'AMQP_BAD_PORT'],
    ['EMFILE', 'AMQP_LISTEN_FAILED'],
  ];
  for (const [node, ours] of cases) {
    it(`${node} -> ${ours}, with the original as cause`, () => {
      const cause = sys(node);
      const err = listenError('::', 443, cause);
      expect(err.code).toBe(ours);
      expect(err.cause).toBe(cause);
      expect(err.message.startsWith('cannot listen on :::443: ')).toBe(true);
    });
  }

  it('an error without a known code keeps its text', () => {
    expect(listenError('h', 1, new Error('odd')).message).toBe('cannot listen on h:1: odd');
  });
});
