/**
 * The engine's events as log records: connection open and close, sessions begun and ended, links
 * attached and detached, the SASL outcome, the peer's rule violations. Deliveries and credit are
 * not logged (the frames category shows them, at 'trace'). Called only when a logger may listen.
 */
import type { Link } from '../link/link.js';
import { errorFields, type Log } from '../util/logger.js';
import type { EngineEvent } from './events.js';

function linkFields(l: Link): Record<string, unknown> {
  return {
    channel: l.session.channel,
    link: l.name,
    role: l.role,
    source: addressOf(l, 'source'),
    target: addressOf(l, 'target'),
  };
}

/** A terminus's address: ours once set, else the peer's (a link the peer attached first has none of ours yet). */
function addressOf(l: Link, side: 'source' | 'target'): unknown {
  const ours = l.options[side] as { address?: unknown } | null | undefined;
  const theirs = l.remoteAttach?.[side] as { address?: unknown } | null | undefined;
  return ours?.address ?? theirs?.address;
}

export function logEvent(log: Log, e: EngineEvent): void {
  switch (e.type) {
    case 'sasl-done':
      if (log.enabled('info', 'sasl'))
        // A client's "identity" is its mechanism: said once.
        log.write(
          'info',
          'sasl',
          'SASL succeeded',
          e.identity === e.mechanism
            ? { mechanism: e.mechanism }
            : { mechanism: e.mechanism, identity: e.identity },
        );
      return;
    case 'connection-remote-open':
      if (log.enabled('info', 'connection')) log.write('info', 'connection', 'the peer opened');
      return;
    case 'connection-closed':
      if (e.error) {
        if (log.enabled('warn', 'connection'))
          log.write('warn', 'connection', 'closed with an error', { error: errorFields(e.error) });
      } else if (log.enabled('info', 'connection')) log.write('info', 'connection', 'closed');
      return;
    case 'transport-done':
      if (e.error) {
        if (log.enabled('error', 'connection'))
          log.write('error', 'connection', 'connection failed', { error: errorFields(e.error) });
      } else if (log.enabled('debug', 'connection')) log.write('debug', 'connection', 'transport done');
      return;
    case 'session-remote-open':
    case 'session-opened':
      if (log.enabled('debug', 'session'))
        log.write(
          'debug',
          'session',
          e.type === 'session-opened' ? 'session begun' : 'the peer began a session',
          { channel: e.session.channel },
        );
      return;
    case 'session-closed':
      if (e.session.error) {
        if (log.enabled('warn', 'session'))
          log.write('warn', 'session', 'session ended with an error', {
            channel: e.session.channel,
            error: errorFields(e.session.error),
          });
      } else if (log.enabled('debug', 'session'))
        log.write('debug', 'session', 'session ended', { channel: e.session.channel });
      return;
    case 'link-remote-open':
    case 'link-opened':
      if (log.enabled('debug', 'link'))
        log.write(
          'debug',
          'link',
          e.type === 'link-opened' ? 'link attached' : 'the peer attached a link',
          linkFields(e.link),
        );
      return;
    case 'link-closed':
      if (e.link.error) {
        if (log.enabled('warn', 'link'))
          log.write('warn', 'link', 'link detached with an error', {
            ...linkFields(e.link),
            error: errorFields(e.link.error),
          });
      } else if (log.enabled('debug', 'link'))
        log.write('debug', 'link', 'link detached', linkFields(e.link));
      return;
    case 'delivery-failed':
      if (log.enabled('warn', 'link'))
        log.write('warn', 'link', 'a delivery could not be sent', {
          ...linkFields(e.delivery.link),
          error: errorFields(e.error),
        });
      return;
    case 'protocol-violation':
      if (log.enabled('warn', e.scope))
        log.write('warn', e.scope, 'the peer broke a protocol rule', {
          condition: e.condition,
          description: e.description,
        });
      return;
    default:
      return;
  }
}
