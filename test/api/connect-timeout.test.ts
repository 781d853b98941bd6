// connectTimeoutMs alone bounds TCP and TLS: the socket has no timer of its own that would cut a
// longer (or no) deadline short with another error.
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect, type AmqpConnection } from '../../src/client/connect.js';
import { listen, type AmqpServer } from '../../src/server/index.js';
import { openSocket } from '../../src/transport/open-socket.js';

const open: (AmqpConnection | AmqpServer | net.Server)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const x of open.splice(0).reverse())
    await (x instanceof net.Server ? new Promise((r) => x.close(r)) : x.close().catch(() => undefined));
});

/** Records the inactivity timeouts set on sockets (TLS sockets are net.Sockets too). */
function spySocketTimeouts(): number[] {
  const set: number[] = [];
  const real = net.Socket.prototype.setTimeout;
  vi.spyOn(net.Socket.prototype, 'setTimeout').mockImplementation(function (
    this: net.Socket,
    ms: number,
    cb?: () => void,
  ) {
    set.push(ms);
    return real.call(this, ms, cb);
  });
  return set;
}

describe('connectTimeoutMs and the socket', () => {
  it.each([120_000, 0])('connectTimeoutMs %d: the client socket gets no timer of its own', async (ms) => {
    const server = await listen({ port: 0, sasl: { anonymous: true } });
    open.push(server);
    const timeouts = spySocketTimeouts();
    const c = await connect({ host: '127.0.0.1', port: server.port, connectTimeoutMs: ms });
    open.push(c);
    expect(timeouts.filter((t) => t > 0)).toEqual([]);
  });

  it('openSocket: 0 and Infinity mean no timer; a number is used as given', async () => {
    const server = net.createServer((s) => s.destroy());
    open.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const timeouts = spySocketTimeouts();
    for (const connectTimeoutMs of [0, Infinity, 5000]) {
      const s = await openSocket({ host: '127.0.0.1', port, connectTimeoutMs });
      s.destroy();
    }
    expect(timeouts.filter((t) => t > 0)).toEqual([5000]);
  });
});
