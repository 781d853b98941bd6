/**
 * A small queue broker made of a rhea 3.0.5 container (rhea has no broker of its own): one queue
 * per address, created on first use; client receivers are served as their credit allows (drain
 * included), released messages go back to the front of their queue. SASL ANONYMOUS and PLAIN
 * (guest/guest). This is the "rhea server" the conformance suite runs against.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

// rhea is CommonJS and its typings do not cover the server side: typed loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const require = createRequire(import.meta.url);
const rhea: Any = require('rhea');

export class RheaBroker {
  readonly container: Any;
  readonly queues = new Map<string, Any[]>();
  private readonly senders = new Set<Any>();
  private server: Any;

  constructor() {
    this.container = rhea.create_container({ id: 'rhea-conformance-broker', autoaccept: false });
    const mechs = this.container.sasl_server_mechanisms;
    mechs.enable_anonymous();
    mechs.enable_plain((user: string, password: string) => user === 'guest' && password === 'guest');
    const c = this.container;
    c.on('sender_open', (ctx: Any) => {
      const s = ctx.sender;
      s.set_source({ address: this.addressOf(s) });
      s.local.attach.snd_settle_mode = s.remote.attach.snd_settle_mode;
      this.senders.add(s);
    });
    c.on('sendable', (ctx: Any) => this.pump(ctx.sender));
    c.on('sender_draining', (ctx: Any) => {
      this.pump(ctx.sender);
      if (this.queue(this.addressOf(ctx.sender)).length === 0) ctx.sender.set_drained(true);
    });
    c.on('sender_close', (ctx: Any) => this.senders.delete(ctx.sender));
    c.on('receiver_open', (ctx: Any) => {
      ctx.receiver.set_target({ address: ctx.receiver.remote.attach.target?.address });
    });
    c.on('message', (ctx: Any) => {
      const address = ctx.receiver.remote.attach.target?.address;
      this.queue(address).push(ctx.message);
      if (!ctx.delivery.remote_settled) ctx.delivery.accept();
      for (const s of this.senders) if (this.addressOf(s) === address) this.pump(s);
    });
    c.on('released', (ctx: Any) => {
      const d = ctx.delivery.context;
      if (d) this.queue(d.address).unshift(d.message);
      this.pump(ctx.sender);
    });
    c.on('disconnected', () => undefined);
    c.on('connection_error', () => undefined);
    c.on('error', () => undefined);
  }

  private addressOf(sender: Any): string {
    return sender.remote.attach.source?.address;
  }

  private queue(address: string): Any[] {
    let q = this.queues.get(address);
    if (!q) this.queues.set(address, (q = []));
    return q;
  }

  private pump(sender: Any): void {
    const address = this.addressOf(sender);
    const q = this.queue(address);
    while (q.length > 0 && sender.sendable()) {
      const message = q.shift();
      const d = sender.send(message);
      d.context = { message, address };
    }
  }

  async listen(): Promise<number> {
    this.server = this.container.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      this.server.once('listening', resolve);
      this.server.once('error', reject);
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
