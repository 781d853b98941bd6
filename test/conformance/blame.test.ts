/**
 * `conformance --listen` blames the side that closed the socket: a client that drops its socket
 * without a close frame fails client.close; a socket the conformance server closed first (here,
 * after bytes it cannot read) is not the client's doing. Raw sockets play the client, so each side's
 * move is exact; every step waits for the other side's bytes or close, never for a time.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConformanceServer } from '../../src/conformance/client-suite.js';
import type { CaseResult } from '../../src/conformance/types.js';

const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

/** Runs one 'observe' connection driven by `client`, and returns the client.close verdict. */
async function closeVerdict(client: (socket: net.Socket) => void): Promise<CaseResult> {
  const server = await new ConformanceServer({
    port: 0,
    scenarios: ['observe'],
    cases: ['client.close'],
  }).start();
  try {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    client(socket);
    const results = await server.results();
    return results.results.find((r) => r.id === 'client.close')!;
  } finally {
    await server.close();
  }
}

/** Calls `then` once the server's protocol header has arrived. */
function afterServerHeader(socket: net.Socket, then: () => void): void {
  let got = 0;
  socket.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 8 && got - d.length < 8) then();
  });
}

const closedTrace = (r: CaseResult): string[] =>
  r.trace.filter((t) => t.kind === 'closed').map((t) => t.text);

describe('conformance --listen: who closed the socket', () => {
  it('a client that ends its socket (FIN) without close is blamed', async () => {
    const r = await closeVerdict((socket) => {
      socket.write(AMQP_HEADER);
      afterServerHeader(socket, () => socket.end());
    });
    expect(r.status).toBe('fail');
    expect(r.reason).toBe('the client closed the socket (FIN) without a close frame');
    expect(closedTrace(r)).toEqual(['socket closed by the peer (FIN)']);
  });

  it('a client that resets its socket without close is blamed', async () => {
    const r = await closeVerdict((socket) => {
      socket.write(AMQP_HEADER);
      afterServerHeader(socket, () => socket.resetAndDestroy());
    });
    expect(r.status).toBe('fail');
    expect(r.reason).toBe('the client closed the socket (reset) without a close frame');
  });

  it('a socket the server closed first (unreadable bytes) is reported as ours, not the client', async () => {
    const r = await closeVerdict((socket) => {
      // A frame whose size (4) is below the 8-byte frame header: the server cannot read on.
      socket.write(Buffer.concat([AMQP_HEADER, Buffer.from([0, 0, 0, 4, 2, 0, 0, 0])]));
      // The client stays until the server closes; only then does its own socket end.
    });
    expect(r.status).toBe('not-applicable');
    expect(r.reason).toMatch(
      /^we closed the socket first \(unreadable bytes from the client: .+\), before any close from the client$/,
    );
    expect(closedTrace(r)).toEqual([expect.stringMatching(/^socket closed by us: unreadable bytes/)]);
  });
});
