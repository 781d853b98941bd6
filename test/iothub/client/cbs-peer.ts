/**
 * A small CBS peer on the real AMQP server (src/server), for the tests that need no full hub: it
 * answers put-token on `$cbs` (verifying the token with the key, on an injected clock), refuses
 * every other link until the connection's token was accepted (as IoT Hub does), and collects the
 * messages sent to other addresses. The IoT Hub emulator is the real peer; this one lets the CBS,
 * renewal and reconnect logic be tested on its own.
 */
import type { MessageSender } from '../../../src/api/sender.js';
import type { Message } from '../../../src/codec/message.js';
import { listen, type AmqpServer, type ServerConnection } from '../../../src/server/index.js';
import type { SaslServerMechanism } from '../../../src/sasl/mechanisms.js';
import type { AmqpError } from '../../../src/protocol/errors.js';
import { verifySasToken } from '../../../src/iothub/sas.js';

export interface PutTokenRecord {
  connection: ServerConnection;
  name: string;
  type: string;
  token: string;
  messageId: unknown;
  replyTo: unknown;
  status: number;
  at: number;
}

export interface CbsPeerOptions {
  /** The key tokens must be signed with (base64). */
  key: string;
  now: () => number;
  mechanisms?: SaslServerMechanism[];
  /** Status to answer instead of verifying (e.g. 500). */
  forceStatus?: () => number | undefined;
  /** Offer PLAIN with a SAS token as the password: it authorizes the connection until the token expires. */
  plain?: boolean;
  /** Refuse the `$cbs` links (an endpoint without CBS). */
  noCbs?: boolean;
  /** The outcome of the n-th message (from 0) sent to a non-CBS address: accepted by default. */
  outcome?: (n: number) => 'accept' | 'release' | { condition: string; description?: string };
  /** Serve TLS with this certificate and key. */
  tls?: { cert: string; key: string };
  /** Answer a receiver on this address with this redirect (attach, then detach with the error). */
  redirect?: (address: string) => AmqpError | undefined;
}

export class CbsPeer {
  server!: AmqpServer;
  readonly puts: PutTokenRecord[] = [];
  readonly received: { address: string; message: Message }[] = [];
  readonly refusedAttaches: string[] = [];
  readonly plainLogins: string[] = [];
  /** Messages sent to non-CBS addresses, whatever their outcome. */
  attempts = 0;
  /** Per connection: token expiry (ms) once authorized. */
  private readonly authorizedUntil = new Map<ServerConnection, number>();
  private readonly replySenders = new Map<ServerConnection, MessageSender>();
  constructor(readonly options: CbsPeerOptions) {}

  get port(): number {
    return this.server.port;
  }

  async start(port = 0): Promise<this> {
    this.server = await listen({
      port,
      tls: this.options.tls,
      sasl: {
        anonymous: true,
        mechanisms: [
          ...(this.options.mechanisms ?? []),
          ...(this.options.plain ? [this.plainMechanism()] : []),
        ],
      },
      onLink: (l) => {
        const c = l.connection;
        const address = l.address ?? '';
        if (this.options.noCbs && (address === 'cbs' || address === '$cbs')) {
          l.refuse({ condition: 'amqp:not-found', description: 'no CBS here' });
          return;
        }
        const plainUntil = /^plain:(\d+)$/.exec(c.identity ?? '');
        if (plainUntil && !this.authorizedUntil.has(c)) this.authorizedUntil.set(c, Number(plainUntil[1]));
        if (l.role === 'sender' && address === 'cbs') {
          this.replySenders.set(c, l.acceptSender());
          return;
        }
        if (l.role === 'receiver' && address === '$cbs') {
          const r = l.acceptReceiver();
          void (async () => {
            for await (const m of r) {
              m.accept();
              this.answer(c, m.message);
            }
          })().catch(() => undefined);
          return;
        }
        const until = this.authorizedUntil.get(c);
        const redirect = l.role === 'sender' ? this.options.redirect?.(address) : undefined;
        if (redirect && until !== undefined) {
          l.acceptSender();
          l.engineLink.detach({ closed: true, error: redirect });
          c.schedule();
          return;
        }
        if (until === undefined || until <= this.options.now()) {
          this.refusedAttaches.push(address);
          l.refuse({ condition: 'amqp:unauthorized-access', description: 'put-token first' });
          return;
        }
        if (l.role === 'receiver') {
          const r = l.acceptReceiver();
          void (async () => {
            for await (const m of r) {
              const o = this.options.outcome?.(this.attempts++) ?? 'accept';
              if (o === 'accept') {
                this.received.push({ address, message: m.message });
                m.accept();
              } else if (o === 'release') m.release();
              else m.reject(o);
            }
          })().catch(() => undefined);
        } else {
          l.acceptSender();
        }
      },
    });
    return this;
  }

  /** PLAIN with a SAS token: the identity carries the token's expiry. */
  private plainMechanism(): SaslServerMechanism {
    return {
      name: 'PLAIN',
      start: (resp) => {
        const [, user, token] = (resp ?? Buffer.alloc(0)).toString('utf8').split('\0');
        const v = verifySasToken(token ?? '', this.options.key, { now: this.options.now() });
        this.plainLogins.push(user ?? '');
        if (!v.ok) return { outcome: 'fail', code: 1, reason: v.message };
        return { outcome: 'ok', identity: `plain:${v.token.expirySeconds * 1000}` };
      },
    };
  }

  private answer(c: ServerConnection, m: Message): void {
    const ap = (m.applicationProperties ?? {}) as Record<string, unknown>;
    const token = String(m.body);
    const forced = this.options.forceStatus?.();
    let status = forced ?? 200;
    let description = 'OK';
    if (forced === undefined) {
      const v = verifySasToken(token, this.options.key, { now: this.options.now() });
      if (!v.ok) {
        status = v.reason === 'malformed' ? 400 : 401;
        description = v.message;
      } else {
        this.authorizedUntil.set(c, v.token.expirySeconds * 1000);
      }
    }
    this.puts.push({
      connection: c,
      name: String(ap.name),
      type: String(ap.type),
      token,
      messageId: m.properties?.messageId,
      replyTo: m.properties?.replyTo,
      status,
      at: this.options.now(),
    });
    void this.replySenders
      .get(c)
      ?.send({
        properties: { correlationId: m.properties?.messageId, to: m.properties?.replyTo },
        applicationProperties: { 'status-code': status, 'status-description': description },
      })
      .catch(() => undefined);
  }

  /** Drops every connection as a crash would. */
  dropConnections(): void {
    for (const c of this.server.connections) c.driver.destroy();
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
