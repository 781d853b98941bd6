export {
  listen,
  AmqpServer,
  ServerOptionsError,
  type ServerOptions,
  type ServerSaslOptions,
} from './server.js';
export { ServerConnection } from './server-connection.js';
export { IncomingLink, type AcceptOptions } from './incoming-link.js';
