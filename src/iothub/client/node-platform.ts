/**
 * The IoT Hub clients under Node: connections over TCP, TLS or a WebSocket (client/connect.ts),
 * through an HTTP proxy, with Node's TLS options; SAS tokens signed with node:crypto, at once.
 */
import { arch, release, type } from 'node:os';
import { connect } from '../../client/connect.js';
import { opt } from '../../protocol/options.js';
import { parseProxyUrl } from '../../transport/http-proxy.js';
import { TLS_OPTIONS } from '../../transport/open-socket.js';
import { computeSasSignature } from '../sas.js';
import { userAgentOf } from './client-options.js';
import type { HubPlatform } from './hub-platform.js';
import { signedTokenProvider, type SasKeyTokenProviderOptions, type TokenProvider } from './token.js';

/** The IoT Hub clients' platform under Node (what `HubConnection`'s `platform` option takes). */
export const nodeHubPlatform: HubPlatform = {
  userAgentPlatform: () => `node ${process.version}; ${type()} ${release()}; ${arch()}`,
  options: {
    tls: opt.either(opt.boolean, opt.nested(TLS_OPTIONS, 'TLS options')),
    proxy: opt.either(opt.string, opt.instanceOf(URL, 'a URL')),
  },
  checkTransport(o) {
    if (o.proxy !== undefined) parseProxyUrl(o.proxy);
  },
  connect,
  sign: computeSasSignature,
};

/**
 * The `com.microsoft:client-version` the clients send on each link under Node:
 * `amqp-one/0.1.0 (node v20.11.0; Linux 6.1.0; x64)`, then the application's `productInfo`
 * after a space (`... myapp/1.2`), so a hub's logs tell applications apart.
 */
export function userAgent(productInfo?: string): string {
  return userAgentOf(nodeHubPlatform, productInfo);
}

/** Signs a fresh token for each call, with node:crypto: `sr` = the audience. */
export function sasKeyTokenProvider(options: SasKeyTokenProviderOptions): TokenProvider {
  return signedTokenProvider(options, computeSasSignature);
}
