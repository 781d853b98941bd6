/**
 * Every public emitter's events are checked by TypeScript. The `@ts-expect-error` lines below are
 * compiled by `tsc --noEmit` (`npm run check`, whose tsconfig includes test/): each must be an
 * error, so a wrong event name or listener signature that compiled would fail the check. The
 * vitest part shows the events arrive as declared at run time (typed-emitter.test.ts has the rest).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { TypedEmitter, type EventListener } from '../../src/util/typed-emitter.js';
import type { AmqpConnection, AmqpConnectionEvents } from '../../src/client/connect.js';
import type { AmqpServer } from '../../src/server/server.js';
import type { ServerConnection } from '../../src/server/server-connection.js';
import type { MessageSender } from '../../src/api/sender.js';
import type { Broker } from '../../src/broker/broker.js';
import type { DeviceClient } from '../../src/iothub/client/device-client.js';
import type { ServiceClient } from '../../src/iothub/client/service-client.js';
import type { HubConnection } from '../../src/iothub/client/hub-connection.js';
import type { CbsTokenRenewer } from '../../src/iothub/client/cbs.js';
import type { TokenInfo } from '../../src/iothub/client/token.js';

/** Never called: only compiled. */
export function typeChecks(
  conn: AmqpConnection,
  server: AmqpServer,
  serverConn: ServerConnection,
  sender: MessageSender,
  broker: Broker,
  device: DeviceClient,
  service: ServiceClient,
  hub: HubConnection,
  renewer: CbsTokenRenewer,
): void {
  conn.on('disconnected', (e) => expectTypeOf(e).toEqualTypeOf<Error | undefined>());
  conn.once('reconnected', () => undefined);
  conn.off('close', (_e: Error | undefined) => undefined);
  // @ts-expect-error: no such event (a typo)
  conn.on('disconected', () => undefined);
  // @ts-expect-error: the listener's signature is wrong
  conn.on('disconnected', (_e: string) => undefined);
  // @ts-expect-error: 'reconnected' has no argument
  conn.on('reconnected', (_n: number) => undefined);
  // @ts-expect-error: emit checks its arguments too
  conn.emit('close', 'not an error');

  server.on('connection', (c) => expectTypeOf(c).toEqualTypeOf<ServerConnection>());
  server.on('clientError', (e) => expectTypeOf(e).toEqualTypeOf<Error>());
  // @ts-expect-error: a server has no 'message' event
  server.on('message', () => undefined);

  serverConn.on('close', (e) => expectTypeOf(e).toEqualTypeOf<Error | undefined>());
  // @ts-expect-error: only the client end reconnects
  serverConn.on('reconnected', () => undefined);

  sender.on('credit', () => undefined);
  // @ts-expect-error: 'credit' has no argument
  sender.on('credit', (_n: number) => undefined);

  broker.on('disconnect', (c, e) => {
    expectTypeOf(c).toEqualTypeOf<ServerConnection>();
    expectTypeOf(e).toEqualTypeOf<Error | undefined>();
  });

  device.on('connected', (g) => expectTypeOf(g).toEqualTypeOf<number>());
  device.on('token-renewed', (info) => expectTypeOf(info).toEqualTypeOf<TokenInfo>());
  // @ts-expect-error: no such event
  device.on('message', () => undefined);
  service.on('disconnected', (e) => expectTypeOf(e).toEqualTypeOf<Error>());
  // @ts-expect-error: 'connected' gives the generation, a number
  service.on('connected', (_g: string) => undefined);

  hub.on('connected', (c, g) => {
    expectTypeOf(c).toEqualTypeOf<AmqpConnection>();
    expectTypeOf(g).toEqualTypeOf<number>();
  });
  renewer.on('renewed', (info) => expectTypeOf(info).toEqualTypeOf<TokenInfo>());
  // @ts-expect-error: no such event
  renewer.on('renew', () => undefined);
}

describe('typed emitters', () => {
  it('deliver their events as declared at run time', () => {
    interface Events {
      tick: [n: number, label: string];
      done: [];
    }
    const e = new TypedEmitter<Events>();
    const seen: string[] = [];
    e.on('tick', (n, label) => void seen.push(`${label}${n}`));
    e.once('done', () => void seen.push('done'));
    expect(e.emit('tick', 1, 't')).toBe(true);
    e.emit('done');
    e.emit('done');
    expect(seen).toEqual(['t1', 'done']);
    expect(e.listenerCount('tick')).toBe(1);
    expect(e.listenerCount('done')).toBe(0);
    expectTypeOf<EventListener<AmqpConnectionEvents, 'disconnected'>>().toEqualTypeOf<
      (error: Error | undefined) => void
    >();
  });
});
