/** WebSocket failures (RFC 6455), each with a stable code and the close code it is answered with. */
import { AmqpOneError } from '../../codec/errors.js';

/** The stable codes of a {@link WebSocketError}, each with the close code it is answered with. */
export type WebSocketErrorCode =
  | 'AMQP_WS_PROTOCOL' // 1002: bad opcode, reserved bits, masking, fragmented control frame
  | 'AMQP_WS_TEXT' // 1003: a text message (AMQP is binary only)
  | 'AMQP_WS_BAD_UTF8' // 1007: a close frame whose reason is not UTF-8
  | 'AMQP_WS_TOO_BIG'; // 1009: a message or frame above the limit

const CLOSE_CODES: Record<WebSocketErrorCode, number> = {
  AMQP_WS_PROTOCOL: 1002,
  AMQP_WS_TEXT: 1003,
  AMQP_WS_BAD_UTF8: 1007,
  AMQP_WS_TOO_BIG: 1009,
};

export class WebSocketError extends AmqpOneError {
  /** The close code sent to the peer for this error. */
  readonly closeCode: number;
  constructor(code: WebSocketErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
    this.closeCode = CLOSE_CODES[code];
  }
}

/**
 * The HTTP upgrade failed (RFC 6455 section 4): `status` is the HTTP status a server answers with
 * (400 malformed, 404 wrong path, 426 wrong version) or the one a client received; 0 when the
 * connection failed or closed before an answer.
 */
export class WebSocketHandshakeError extends AmqpOneError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('AMQP_WS_HANDSHAKE', message, undefined, options);
  }
}
