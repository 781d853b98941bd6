export {
  listen,
  AmqpServer,
  ServerOptionsError,
  type AmqpServerEvents,
  type ServerOptions,
  type ServerSaslOptions,
  type ServerWebSocketOptions,
} from './server.js';
export { ListenError, type ListenErrorCode } from '../transport/listen-on.js';
export {
  ServerConnection,
  IncomingLink,
  type AcceptOptions,
  type ServerConnectionEvents,
} from './server-connection.js';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_BUFFERED_OUTPUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_LINKS,
  DEFAULT_MAX_LINKS_PER_SESSION,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_REASSEMBLY_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_UNSETTLED_DELIVERIES,
  REFUSED_LINKS_SLACK,
  type ServerLimits,
} from './limits.js';
