/**
 * The IoT Hub clients in a browser: the connection is the browser's WebSocket
 * (client/connect-browser.ts), `wss://` with the browser's own TLS and trust store, or `ws://`
 * when `tls: false` is given, as under Node; no proxy option (the browser uses its own); SAS
 * tokens signed with Web Crypto. Nothing here or below imports a Node module (test/browser checks
 * the bundle).
 */
import { connect as connectBrowser } from '../../client/connect-browser.js';
import type { ConnectOptions } from '../../client/amqp-connection.js';
import { InvalidArgumentError } from '../../protocol/errors.js';
import { opt } from '../../protocol/options.js';
import { webCryptoSasSigner } from '../sas-web-crypto.js';
import type { HubPlatform } from './hub-platform.js';
import { signedTokenProvider, type SasKeyTokenProviderOptions, type TokenProvider } from './token.js';

function connect(o: ConnectOptions) {
  if (o.websocket === undefined) {
    return Promise.reject(
      new InvalidArgumentError("a browser reaches IoT Hub over WebSockets only: transport 'amqp-ws'", {
        option: 'transport',
      }),
    );
  }
  const { tls, proxy: _proxy, transport: _transport, ...rest } = o;
  return connectBrowser({ ...rest, tls: tls !== undefined && tls !== false });
}

/** The IoT Hub clients' platform in a browser (what `HubConnection`'s `platform` option takes there). */
export const browserHubPlatform: HubPlatform = {
  userAgentPlatform: () =>
    `browser; ${(globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? 'unknown'}`,
  options: {
    // true (wss://, the default) or false (ws://); `{}` is how the clients pass `true` on.
    tls: opt.either(opt.boolean, opt.nested({}, "true or false (a browser's TLS is its own)")),
  },
  checkTransport: () => undefined,
  connect,
  sign: webCryptoSasSigner,
};

/** Signs a fresh token for each call, with Web Crypto: `sr` = the audience. */
export function sasKeyTokenProvider(options: SasKeyTokenProviderOptions): TokenProvider {
  return signedTokenProvider(options, webCryptoSasSigner);
}
