/** Bugs found in other layers while building the emulator, kept as regression tests. */
import { afterEach, expect, it } from 'vitest';
import { c2d, cleanup, connectDevice, connectService, next, testHub, until } from './helpers.js';

afterEach(cleanup);

// src/client/connection-core.ts: openReceiver() resolves once the attach reply has a source, but
// when the peer's detach arrives in the same read (a redirect, a refusal after attach, a stolen
// link), 'link-closed' is handled before the MessageReceiver wrapper exists (linkGone finds no
// link.context), so the wrapper never gets onClosed: receive() waits for ever instead of rejecting
// with the RedirectError that link.error holds. Same for openSender (the 'close' event never comes).
it('a receiver whose link is detached right after its attach reply reports the redirect', async () => {
  // redirectDelayMs 0: the detach goes out in the same write as the attach reply.
  const t = await testHub({ redirectDelayMs: 0 });
  const svc = await connectService(t);
  const err = await svc
    .openReceiver('/messages/events/ConsumerGroups/$Default/Partitions/0')
    .then((r) => r.receive({ timeoutMs: 1000 }))
    .catch((e: unknown) => e);
  expect(String(err)).toMatch(/redirect/);
});

// src/client/received-message.ts: settle()/accept()/reject()/release() only queue the disposition
// in the engine (Session.queueDisposition marks output dirty) and never ask the socket driver to
// write (no host.schedule(); MessageReceiver.refill schedules only when it tops up credit). A
// message settled after any macrotask (after real work, a timer, a durable write) has its
// disposition stuck until something else happens to write. Here: a C2D message completed 20 ms
// after it arrived is never completed at the hub. (The emulator's own server-side settlements
// call connection.schedule() as a workaround.)
it('a disposition given after a macrotask is written without other traffic', async () => {
  const t = await testHub();
  const svc = await connectService(t);
  await (await svc.openSender('/messages/devicebound')).send(c2d('d1', 'late'));
  const dev = await connectDevice(t, 'd1');
  const r = await dev.openReceiver({ address: '/devices/d1/messages/devicebound', credit: 10 });
  const m = await next(r);
  await new Promise((res) => setTimeout(res, 20));
  m.accept();
  await until(() => t.hub.state.c2d.depth('d1') === 0, 1000);
});
