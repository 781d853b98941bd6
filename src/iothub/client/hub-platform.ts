/**
 * What the IoT Hub clients need from where they run, so that one DeviceClient serves Node and a
 * browser: how the AMQP connection is opened (Node: TCP, TLS or a WebSocket, through a proxy; a
 * browser: its own WebSocket), how SAS tokens are signed (node:crypto at once, Web Crypto as a
 * promise), which `tls` and `proxy` options make sense there, and the platform part of the user
 * agent. node-platform.ts and browser-platform.ts are the two; this file imports neither.
 */
import type { AmqpConnection, ConnectOptions } from '../../client/amqp-connection.js';
import type { OptionRule } from '../../protocol/options.js';
import type { SasSigner } from '../sas-token.js';

/** Where the IoT Hub clients run: Node ({@link nodeHubPlatform}) or a browser. */
export interface HubPlatform {
  /** The platform in the user agent: `node v20.11.0; Linux 6.1.0; x64`. */
  userAgentPlatform(): string;
  /** The rules of the client options that depend on the platform (a browser has no proxy option). */
  readonly options: { readonly tls: OptionRule; readonly proxy?: OptionRule };
  /** Judges the transport options once, when a client is made (a bad proxy URL). */
  checkTransport(options: { proxy?: string | URL }): void;
  /** Opens the AMQP connection a hub connection then authenticates. */
  connect(options: ConnectOptions): Promise<AmqpConnection>;
  /** Signs the SAS tokens of a key: base64(HMAC-SHA256). */
  readonly sign: SasSigner;
}
