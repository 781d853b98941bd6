/**
 * openTunnel against a scripted proxy (a net server that answers CONNECT as each test says): the
 * request it sends, bytes after the response head kept for the reader, and the answers that are
 * not a proxy speaking HTTP.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/protocol/errors.js';
import { AbortError } from '../../src/api/errors.js';
import { connect } from '../../src/client/connect.js';
import { openSocket } from '../../src/transport/open-socket.js';
import { MAX_PROXY_HEAD_BYTES, openTunnel, ProxyError } from '../../src/transport/http-proxy.js';

const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]);

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A proxy that reads one request head, hands it to `answer`, and keeps the socket open. */
async function scriptedProxy(
  answer: (socket: net.Socket, request: string) => unknown,
): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      requests.push(text);
      void answer(socket, text);
    };
    socket.on('data', onData);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, requests };
}

/** Resolves once the proxy has read a whole request (checked each turn of the event loop). */
async function requestArrived(proxy: { requests: string[] }): Promise<void> {
  while (proxy.requests.length === 0) await new Promise((r) => setImmediate(r));
}

/** Writes each piece in its own turn of the event loop, so the client tends to read them apart. */
async function writeApart(socket: net.Socket, pieces: (string | Buffer)[]): Promise<void> {
  for (const p of pieces) {
    await new Promise<void>((r) => socket.write(p, () => r()));
    await new Promise((r) => setImmediate(r));
  }
}

/** The first `n` bytes the tunnel yields to an ordinary 'data' reader. */
function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) resolve(got.subarray(0, n));
    });
  });
}

async function proxyError(p: Promise<unknown>): Promise<ProxyError> {
  const err = await p.then(
    () => new Error('expected a ProxyError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProxyError);
  return err as ProxyError;
}

describe('openTunnel', () => {
  it('sends CONNECT with Host and Basic credentials decoded from the URL', async () => {
    const proxy = await scriptedProxy((s) => s.write('HTTP/1.1 200 OK\r\n\r\n'));
    const socket = await openTunnel({
      proxy: `http://us%3Aer:p%40ss%20w@127.0.0.1:${proxy.port}`,
      host: 'broker.example',
      port: 5671,
    });
    sockets.push(socket);
    const basic = Buffer.from('us:er:p@ss w').toString('base64');
    expect(proxy.requests).toEqual([
      `CONNECT broker.example:5671 HTTP/1.1\r\nHost: broker.example:5671\r\nProxy-Authorization: Basic ${basic}\r\n\r\n`,
    ]);
  });

  it('keeps the bytes that follow a response head split across reads', async () => {
    const proxy = await scriptedProxy((s) =>
      writeApart(s, [
        'HTTP/1.1 200 Conn',
        'ection established\r\nProxy-Agent: test\r\n\r',
        Buffer.concat([Buffer.from('\n'), AMQP_HEADER.subarray(0, 5)]),
        AMQP_HEADER.subarray(5),
      ]),
    );
    const socket = await openTunnel({ proxy: `http://127.0.0.1:${proxy.port}`, host: '127.0.0.1', port: 1 });
    sockets.push(socket);
    expect(await readBytes(socket, AMQP_HEADER.length)).toEqual(AMQP_HEADER);
  });

  it('keeps bytes that arrive in the same read as the head', async () => {
    const proxy = await scriptedProxy((s) =>
      s.write(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), AMQP_HEADER])),
    );
    const socket = await openTunnel({ proxy: `http://127.0.0.1:${proxy.port}`, host: '127.0.0.1', port: 1 });
    sockets.push(socket);
    expect(await readBytes(socket, AMQP_HEADER.length)).toEqual(AMQP_HEADER);
  });

  it(`a response head over ${MAX_PROXY_HEAD_BYTES} bytes is AMQP_PROXY_BAD_RESPONSE`, async () => {
    const proxy = await scriptedProxy((s) =>
      writeApart(s, ['HTTP/1.1 200 OK\r\n', `X-Padding: ${'a'.repeat(MAX_PROXY_HEAD_BYTES)}\r\n`, '\r\n']),
    );
    const err = await proxyError(
      openTunnel({ proxy: `http://127.0.0.1:${proxy.port}`, host: '127.0.0.1', port: 1 }),
    );
    expect(err.code).toBe('AMQP_PROXY_BAD_RESPONSE');
    expect(err.message).toContain(`127.0.0.1:${proxy.port}`);
  });

  it('an answer that is not HTTP is AMQP_PROXY_BAD_RESPONSE', async () => {
    const proxy = await scriptedProxy((s) => s.write('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    const err = await proxyError(
      openTunnel({ proxy: `http://127.0.0.1:${proxy.port}`, host: '127.0.0.1', port: 1 }),
    );
    expect(err.code).toBe('AMQP_PROXY_BAD_RESPONSE');
  });

  it('a proxy that closes before answering is AMQP_PROXY_BAD_RESPONSE', async () => {
    const proxy = await scriptedProxy((s) => s.end());
    const err = await proxyError(
      openTunnel({ proxy: `http://127.0.0.1:${proxy.port}`, host: '127.0.0.1', port: 1 }),
    );
    expect(err.code).toBe('AMQP_PROXY_BAD_RESPONSE');
  });

  it('a refusal carries the status and the reason, and not the password', async () => {
    const proxy = await scriptedProxy((s) =>
      s.write('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'),
    );
    const err = await proxyError(
      openTunnel({ proxy: `http://me:topsecret@127.0.0.1:${proxy.port}`, host: '127.0.0.1', port: 1 }),
    );
    expect(err.code).toBe('AMQP_PROXY_REFUSED');
    expect(err.status).toBe(502);
    expect(err.message).toContain('502 Bad Gateway');
    expect(err.message).not.toContain('topsecret');
  });

  it('aborting while the proxy is silent rejects with the reason', async () => {
    const proxy = await scriptedProxy(() => undefined);
    const ac = new AbortController();
    const p = openTunnel({
      proxy: `http://127.0.0.1:${proxy.port}`,
      host: '127.0.0.1',
      port: 1,
      signal: ac.signal,
    });
    const reason = new Error('stop');
    // Abort once the request reached the proxy, so the tunnel is waiting for the answer.
    await requestArrived(proxy);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  });

  it('a proxy URL other than http: is an InvalidArgumentError naming the option', async () => {
    for (const proxy of ['https://127.0.0.1:3128', 'socks5://127.0.0.1:1080', 'not a url']) {
      let err: unknown;
      try {
        await openTunnel({ proxy, host: '127.0.0.1', port: 1 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe('proxy');
    }
  });
  it('a malformed %-escape in the credentials or a host with a line break is refused before connecting', async () => {
    const cases: [Parameters<typeof openTunnel>[0], string][] = [
      [{ proxy: 'http://me:p%zzsecret@127.0.0.1:1', host: '127.0.0.1', port: 1 }, 'proxy'],
      [{ proxy: 'http://127.0.0.1:1', host: 'a\r\nX-Injected: 1', port: 1 }, 'host'],
    ];
    for (const [options, option] of cases) {
      const err = await openTunnel(options).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe(option);
      expect((err as Error).message).not.toContain('secret');
    }
  });
});

describe('the proxy option', () => {
  it('openSocket and connect refuse a proxy that is not an http: URL, naming the option', async () => {
    const bad = [
      openSocket({ host: '127.0.0.1', port: 1, proxy: 'https://127.0.0.1:3128' }),
      connect({ host: '127.0.0.1', port: 1, proxy: 'socks5://127.0.0.1:1080' }),
      connect({ host: '127.0.0.1', port: 1, proxy: 42 as never }),
    ];
    for (const p of bad) {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).option).toBe('proxy');
    }
  });
});

describe('connect through a proxy', () => {
  it("connect's signal abandons a tunnel the proxy never answers: AbortError, and the proxy sees the socket close", async () => {
    let closed!: () => void;
    const proxyClosed = new Promise<void>((r) => (closed = r));
    const proxy = await scriptedProxy((s) => s.on('close', closed));
    const ac = new AbortController();
    const p = connect({
      host: '127.0.0.1',
      port: 5672,
      proxy: `http://127.0.0.1:${proxy.port}`,
      signal: ac.signal,
    });
    await requestArrived(proxy);
    ac.abort(new Error('changed my mind'));
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).code).toBe('AMQP_ABORTED');
    await proxyClosed;
  });
});
